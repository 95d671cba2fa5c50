"""The commands, one module each, registered on the click group in cli.py."""

from reconciler.commands import demo, export, plan, sandbox_cmd, validate

COMMAND_MODULES = [validate, plan, export, sandbox_cmd, demo]
