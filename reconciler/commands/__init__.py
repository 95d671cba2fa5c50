"""The commands, thin: one module each with a `COMMANDS` list that cli.py registers, beside
the shared options, progress, session and the one error handler.
"""
