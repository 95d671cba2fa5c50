"""The commands, one module each (a `COMMANDS` list apiece), registered in cli.py."""
