"""The conversation kit every domain builds on: the turn, keywords, dialogue state, contacts."""
