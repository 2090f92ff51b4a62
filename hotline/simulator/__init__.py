"""The simulators field staff demo with: a basic phone's SMS thread on any channel."""
