"""Command line: `main()` parses and dispatches; each command is a module of commands/, and
one handler (commands/error_handler.py) turns each error into one line and a code."""

from __future__ import annotations

import sys

import click

from reconciler import __version__
from reconciler.commands import (
    access,
    apply,
    demo,
    drift,
    error_handler,
    expiring,
    export,
    init,
    plan,
    sandbox_cmd,
    show,
    validate,
)
from reconciler.commands.options import (
    EXIT_ERROR,
    EXIT_OK,
    Options,
    common,
    echo,
    group_options,
)

COMMAND_MODULES = [
    validate,
    plan,
    apply,
    drift,
    expiring,
    access,
    show,
    export,
    sandbox_cmd,
    init,
    demo,
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@group_options
def cli() -> None:
    """Access-as-code for SaaS sharing: validate, plan and apply who may see what.

    The common flags (--config, -v, --no-color, --parallelism, --policy) go before the
    command or after it."""


for _module in COMMAND_MODULES:
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    sys.exit(_main(argv))


def _main(argv: list[str] | None) -> int:
    """Run one command line; its exit code (docs/exit-codes.md)."""
    args = argv if argv is not None else sys.argv[1:]
    return error_handler.run(
        lambda: cli.main(args=argv, prog_name="reconciler", standalone_mode=False),
        error_handler.verbose_in(args),
    )


__all__ = ["Options", "cli", "common", "echo", "main", "EXIT_OK", "EXIT_ERROR"]
