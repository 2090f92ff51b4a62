"""The voice line (IVR): keypad menus, recorded complaints, missed-call callbacks."""
