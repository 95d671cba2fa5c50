"""The plan file: its storage and the checks a saved plan must pass again (storage, not views)."""
