"""`reconciler expiring`: grants that have lapsed or lapse soon, offline (docs/governance.md)."""

from __future__ import annotations

import json
from datetime import datetime

import click

from reconciler.commands.options import (
    EXIT_CHANGES,
    EXIT_OK,
    Options,
    at_option,
    common,
    echo,
    paths_argument,
    plural,
    policy_option,
)
from reconciler.core import clock
from reconciler.core.escape import text as esc
from reconciler.governance import expiry
from reconciler.input.config import offline
from reconciler.input.manifest import load_workspace

NO_MEMBER = "—"


def _member(g: expiry.ExpiringGrant) -> str:
    if g.member is None:
        return NO_MEMBER
    return f"{g.member} ({g.label})" if g.label else g.member


def _at(now: datetime) -> str:
    return clock.show(now.replace(microsecond=0))


def render_text(found: list[expiry.ExpiringGrant], now: datetime, within: str) -> str:
    if not found:
        return f"No grant lapses within {within} of {_at(now)}."
    rows = [("EXPIRES", "DAYS LEFT", "ADDRESS", "MEMBER", "SOURCE")]
    rows += [
        (
            clock.show(g.when),
            str(g.days_left(now)),
            esc(g.address),
            esc(_member(g)),
            f"{esc(g.source.file)}:{g.source.line}",
        )
        for g in found
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(
            cell.rjust(w) if i == 1 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(r[:-1], widths, strict=True))
        )
        + "  "
        + r[-1]
        for r in rows
    ]
    lapsed = sum(1 for g in found if g.when <= now)
    lines.append(
        f"{plural(len(found), 'grant')} lapsed or lapsing within {within} of {_at(now)} "
        f"({lapsed} already lapsed)."
    )
    return "\n".join(lines)


def render_json(found: list[expiry.ExpiringGrant], now: datetime, within: str) -> str:
    return json.dumps(
        {
            "at": _at(now),
            "within": within,
            "grants": [
                {
                    "address": g.address,
                    "member": g.member,
                    "label": g.label,
                    "expires": clock.show(g.when),
                    "days_left": g.days_left(now),
                    "lapsed": g.when <= now,
                    "file": g.source.file,
                    "line": g.source.line,
                }
                for g in found
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


@click.command()
@paths_argument
@click.option(
    "--within",
    "within",
    default="30d",
    show_default=True,
    metavar="SPAN",
    help="The window ahead: 30d, 12h, 2w.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when any grant is listed.")
@at_option
@common
@policy_option
def expiring(
    opts: Options, paths: tuple[str, ...], within: str, fmt: str, detailed_exitcode: bool
) -> int:
    """List grants that have lapsed or lapse within the window, soonest first (offline)."""
    try:
        span = clock.parse_span(within)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--within'") from None
    with offline():
        ws = load_workspace(list(paths), opts.config, opts.policy)
    now = clock.now()
    found = expiry.due(ws.resources, span)
    render = render_json if fmt == "json" else render_text
    # The window as parsed, never the raw value (whitespace and all) echoed back.
    shown = "".join(within.split())
    echo(render(found, now, shown), opts)
    return EXIT_CHANGES if detailed_exitcode and found else EXIT_OK


COMMANDS = [expiring]
