"""The commands, one module each, registered on the click group in cli.py."""

from reconciler.commands import plan, sandbox_cmd, validate

COMMAND_MODULES = [validate, plan, sandbox_cmd]
