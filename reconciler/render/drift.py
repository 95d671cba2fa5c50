"""Drift, spoken from the live side: what live state holds that the manifests do not say.

A plan says what apply would do (`- member x`); drift says what is live (`live has member x
that no manifest declares`). Three sorts of drifted object, each one line of heading:

- `~ ADDRESS  (live differs from the manifest)`: field and member differences below it;
- `! ADDRESS  (declared but absent live)`;
- `? ADDRESS  (unmanaged: ...)`: a live object in a declared scope that no manifest
  declares, whether or not prune would delete it: drift.

Protected objects (never pruned, e.g. a Klipfolio `protected_roles` role) are live and
undeclared too, so they are listed (`= ADDRESS  (unmanaged, protected: ...)`), but the
config names them as left alone on purpose: they are not counted as drift, so that a
nightly drift job on a healthy account exits 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click

from reconciler.core.escape import text as esc
from reconciler.core.model import Action, Change, Plan, Unmanaged
from reconciler.render.governance import governance_items
from reconciler.render.text import (
    _attrs,
    _who,
    field_deltas,
    ignored_lines,
    state_lines,
    value,
)

PAD = " " * 6

DIFFERS = "live differs from the manifest"
ABSENT = "declared but absent live"
UNMANAGED = "unmanaged: live in a declared scope, no manifest declares it"


@dataclass(frozen=True)
class Drifted:
    """One drifted object: its address, its sort (differs, absent, unmanaged) and lines."""

    address: str
    sort: str
    heading: str
    lines: list[str]


def _field_sentences(name: str, before: Any, after: Any) -> list[str]:
    out = []
    for d in field_deltas(name, before, after):
        path = esc(d.path)
        if d.added is not None or d.removed is not None:
            out += [
                f"live {path} has {value(x)} that the manifest does not declare"
                for x in d.removed or []
            ]
            out += [
                f"live {path} lacks {value(x)} that the manifest declares" for x in d.added or []
            ]
        elif d.before is None:
            out.append(f"live has no {path}, the manifest says {value(d.after)}")
        else:
            out.append(f"live {path} is {value(d.before)}, the manifest says {value(d.after)}")
    return out


def change_sentences(change: Change) -> list[str]:
    """What differs, from the live side, for an update or replace."""
    out = []
    for f in change.fields:
        out += _field_sentences(f.field, f.before, f.after)
    if change.action is Action.REPLACE:
        out.append("(the API cannot change that in place: apply would delete and re-create it)")
    for m in change.members:
        who = _who(change, m.key)
        if m.action == "add":
            out.append(f"live has no member {who} that the manifest declares")
        elif m.action == "remove" and m.reason == "expired":
            out.append(f"live still has member {who} (expired {esc(m.expires or '')})")
        elif m.action == "remove":
            attrs = _attrs(m.key, m.before)
            detail = f": {attrs}" if attrs not in ("{}", "null") else ""
            out.append(f"live has member {who} that no manifest declares{detail}")
        else:
            before, after = m.before or {}, m.after or {}
            for k in sorted(set(before) | set(after)):
                if before.get(k) != after.get(k):
                    out.append(
                        f"member {who}: live {esc(k)} is {value(before.get(k))}, "
                        f"the manifest says {value(after.get(k))}"
                    )
    return out


def _state(state: dict[str, Any]) -> list[str]:
    lines = []
    for name, v in sorted(state.items()):
        lines += ["live " + line for line in state_lines(name, v)]
    return lines


def drifted(plan: Plan) -> list[Drifted]:
    """Every drifted object of a drift run (changes and unmanaged objects), by address."""
    out = []
    for c in plan.changes:
        if c.action is Action.CREATE:
            where = f"declared in {esc(str(c.source))}" if c.source else "declared"
            out.append(Drifted(c.address, "absent", ABSENT, [f"{where}; live has no such object"]))
        elif c.action is Action.DELETE and c.reason == "expired":
            note = f"expired {esc(c.expires or '')}, still live: apply would delete it"
            out.append(Drifted(c.address, "differs", note, _state(c.live.state if c.live else {})))
        elif c.action is Action.DELETE:
            note = f"{UNMANAGED}; prune is on: apply would delete it"
            out.append(
                Drifted(c.address, "unmanaged", note, _state(c.live.state if c.live else {}))
            )
        else:
            out.append(Drifted(c.address, "differs", DIFFERS, change_sentences(c)))
    for u in plan.unmanaged:
        sort = "protected" if u.protected else "unmanaged"
        out.append(Drifted(u.address, sort, unmanaged_note(u), _state(u.live.state)))
    return sorted(out, key=lambda d: d.address)


def unmanaged_note(u: Unmanaged) -> str:
    if u.protected:
        return (
            "unmanaged, protected: live in a declared scope, no manifest declares it; "
            "the config protects it, so it is listed but not counted as drift"
        )
    return f"{UNMANAGED}; prune is off: apply leaves it"


SYMBOL = {
    "differs": ("~", "yellow"),
    "absent": ("!", "red"),
    "unmanaged": ("?", "magenta"),
    "protected": ("=", "cyan"),
}


def render_object(d: Drifted) -> list[str]:
    symbol, colour = SYMBOL[d.sort]
    head = click.style(f"{symbol:>3} {esc(d.address)}", fg=colour, bold=True)
    return [f"{head}  ({d.heading})", *(PAD + line for line in d.lines)]


def count(plan: Plan) -> int:
    """Objects that drifted: every change, and every unmanaged object but protected ones."""
    return len(plan.changes) + sum(1 for u in plan.unmanaged if not u.protected)


def summary(plan: Plan) -> str:
    n = count(plan)
    if not n:
        return "No drift: live state matches the manifests."
    return f"Drift: {n} object{'s differ' if n != 1 else ' differs'} from the manifests."


def breakdown(objects: list[Drifted]) -> str:
    n = {s: sum(1 for d in objects if d.sort == s) for s in SYMBOL}
    text = (
        f"{n['differs']} differ live, {n['absent']} declared but absent live, "
        f"{n['unmanaged']} unmanaged (live, not declared)"
    )
    if n["protected"]:
        text += f"; {n['protected']} protected (listed, not drift)"
    return text + "."


def render_drift(plan: Plan) -> str:
    objects = drifted(plan)
    lines: list[str] = []
    if plan.governance is not None:
        # The governance block first, as on a plan (the settings drift ran with).
        lines += ["Governance:", *(f"  {esc(x)}" for x in governance_items(plan.governance)), ""]
    for d in objects:
        lines += render_object(d)
        lines.append("")
    if plan.ignored:
        lines += [*ignored_lines(plan), ""]
    if objects:
        lines.append(breakdown(objects))
    lines.append(click.style(summary(plan), bold=True))
    return "\n".join(lines)
