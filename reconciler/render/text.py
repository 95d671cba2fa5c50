"""Terraform-style text: symbols, field-level before -> after, one summary line."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import click

from reconciler.core.escape import text as esc
from reconciler.core.model import (
    SYMBOLS,
    Action,
    Change,
    Outcome,
    Plan,
    Refusals,
    Result,
)
from reconciler.render.governance import governance_block

COLOURS = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.REPLACE: "magenta",
    Action.DELETE: "red",
}
MEMBER = {"add": ("+", "green"), "change": ("~", "yellow"), "remove": ("-", "red")}


def value(v: Any) -> str:
    """A value as shown: names and values are data, every control character escaped."""
    if isinstance(v, str):
        return esc(json.dumps(v, ensure_ascii=False))
    if isinstance(v, dict):
        return ", ".join(f"{esc(k)}={value(x)}" for k, x in v.items()) or "{}"
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    return json.dumps(v)


@dataclass(frozen=True)
class FieldDelta:
    """What differs inside one field, at `path` (`field` or `field.key`): items added and
    removed for a list, else the value before and after."""

    path: str
    before: Any = None
    after: Any = None
    added: list[Any] | None = None
    removed: list[Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.added is not None or self.removed is not None:
            return {"path": self.path, "added": self.added or [], "removed": self.removed or []}
        return {"path": self.path, "before": self.before, "after": self.after}


def field_deltas(name: str, before: Any, after: Any) -> list[FieldDelta]:
    """One delta per changed field; lists as items added/removed, mappings per sub-field."""
    if isinstance(before, dict) and isinstance(after, dict):
        deltas: list[FieldDelta] = []
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                deltas += field_deltas(f"{name}.{key}", before.get(key), after.get(key))
        return deltas
    if isinstance(before, list) and isinstance(after, list):
        added = [x for x in after if x not in before]
        removed = [x for x in before if x not in after]
        return [FieldDelta(name, added=added, removed=removed)]
    return [FieldDelta(name, before, after)]


def field_lines(name: str, before: Any, after: Any) -> list[str]:
    """One line per changed field (see `field_deltas`)."""
    lines = []
    for d in field_deltas(name, before, after):
        if d.added is not None or d.removed is not None:
            parts = [f"+{value(x)}" for x in d.added or []]
            parts += [f"-{value(x)}" for x in d.removed or []]
            lines.append(f"{esc(d.path)}: " + " ".join(parts))
        else:
            lines.append(f"{esc(d.path)}: {value(d.before)} -> {value(d.after)}")
    return lines


def state_lines(name: str, v: Any) -> list[str]:
    """A whole field, for creates and deletes; empty lists inside mappings are left out."""
    if isinstance(v, dict) and v and not all(isinstance(x, dict) for x in v.values()):
        return [
            f"{esc(name)}.{esc(k)}: {value(x)}" for k, x in sorted(v.items()) if x not in ([], None)
        ]
    return [f"{esc(name)}: {value(v)}"]


def _who(change: Change, key: str) -> str:
    label = change.labels.get(key)
    return esc(f"{key} ({label})" if label and label.lower() not in key.lower() else key)


def _attrs(key: str, attrs: Any) -> str:
    # An attribute that only repeats the member's key (an email's spelling) is noise.
    if isinstance(attrs, dict):
        attrs = {
            k: v for k, v in attrs.items() if not (isinstance(v, str) and v.lower() == key.lower())
        }
    return value(attrs)


def expiry_note(expires: str | None, reason: str | None) -> str:
    """` (expires 2027-01-31)` on what carries an expiry, ` (expired 2027-01-31)` on a
    removal the expiry causes (docs/governance.md); empty otherwise."""
    if not expires:
        return ""
    return f" ({'expired' if reason == 'expired' else 'expires'} {esc(expires)})"


def render_change(change: Change) -> list[str]:
    symbol = SYMBOLS[change.action]
    colour = COLOURS[change.action]
    head = click.style(f"{symbol:>3} {esc(change.address)}", fg=colour, bold=True)
    head += expiry_note(change.expires, change.reason)
    lines = [
        head if change.action is not Action.REPLACE else head + "  (replace: delete, then create)"
    ]
    pad = " " * 6
    if change.action is Action.CREATE and change.desired is not None:
        for name, v in sorted(change.desired.items()):
            if isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()):
                for key, attrs in sorted(v.items()):
                    lines.append(
                        pad + click.style(f"+ member {esc(key)}: {_attrs(key, attrs)}", fg="green")
                    )
            else:
                lines += [pad + line for line in state_lines(name, v)]
    elif change.action is Action.DELETE and change.live is not None:
        for name, v in sorted(change.live.state.items()):
            lines += [pad + click.style(line, fg="red") for line in state_lines(name, v)]
    for f in change.fields:
        lines += [pad + line for line in field_lines(f.field, f.before, f.after)]
    for m in change.members:
        sym, colour = MEMBER[m.action]
        if m.action == "change":
            detail = ", ".join(
                f"{esc(k)}: {value(m.before.get(k))} -> {value(v)}"
                for k, v in m.after.items()
                if m.before.get(k) != v
            )
        else:
            detail = _attrs(m.key, m.after if m.action == "add" else m.before)
        note = expiry_note(m.expires, m.reason)
        lines.append(
            pad + click.style(f"{sym} member {_who(change, m.key)}: {detail}{note}", fg=colour)
        )
    lines += [pad + line for line in guard_lines(change)]
    return lines


def guard_lines(change: Change) -> list[str]:
    """`! guard RULE: MESSAGE` for each guard the change trips (docs/governance.md); an allowed one
    names the document's reason."""
    out = []
    for f in change.guards:
        if f.allowed:
            head = f"! guard {esc(f.rule)} (allowed: {esc(f.reason or '')})"
            out.append(click.style(f"{head}: {esc(f.message)}", fg="cyan"))
        else:
            out.append(click.style(f"! guard {esc(f.rule)}: {esc(f.message)}", fg="red", bold=True))
    return out


def protected_lines(plan: Plan) -> list[str]:
    """The undeclared objects `settings.protect` kept from prune, and the
    protected objects kept although expired: `(expired 2026-01-31, protected)`."""
    if not plan.protected:
        return []
    return ["Protected from prune:"] + [
        f"  = {esc(a)}{protected_note(plan, a)}" for a in plan.protected
    ]


def protected_note(plan: Plan, address: str) -> str:
    """`  (expired WHEN, protected)` for a protected object kept although expired."""
    if address not in plan.protected_expired:
        return ""
    return f"  (expired {esc(plan.protected_expired[address])}, protected)"


def targeted_note(plan: Plan) -> str | None:
    """For a `--target` run, that the plan is partial: objects not targeted were not compared."""
    if plan.targeted is None:
        return None
    n, m = plan.targeted
    return f"Targeted plan: only {n} of {m} objects were compared."


def summary(plan: Plan) -> str:
    if plan.partial is not None:
        return partial_summary(plan)
    if plan.empty and plan.targeted is not None:
        return f"No changes among the targets. {targeted_note(plan)}"
    if plan.empty:
        return "No changes. Live state matches the manifests."
    return (
        f"Plan: {plan.count(Action.CREATE)} to create, {plan.count(Action.UPDATE)} to update, "
        f"{plan.count(Action.REPLACE)} to replace, {plan.count(Action.DELETE)} to delete."
    )


def partial_summary(plan: Plan) -> str:
    """`Plan (changes since REF): ...; N unchanged objects not read` for a `--base` plan."""
    p = plan.partial
    assert p is not None
    unread = f"{p.unread:,} unchanged object{'s' * (p.unread != 1)} not read"
    if plan.empty:
        return f"No changes since {p.ref}. Live state matches the manifests read; {unread}."
    return (
        f"Plan (changes since {p.ref}): {plan.count(Action.CREATE)} to create, "
        f"{plan.count(Action.UPDATE)} to update, {plan.count(Action.REPLACE)} to replace, "
        f"{plan.count(Action.DELETE)} to delete; {unread}."
    )


PR_TITLE = "Changes in this pull request (base documents -> head documents):"
DRIFT_TITLE = "Drift apply would also revert (live state differs from the base documents):"


def part(change: Change, cause: str) -> Change | None:
    """The part of `change` of one cause (`pr` or `drift`), for its section of a `--base`
    plan; None when it has none. A change without parts (create, delete) is whole."""
    if change.cause is None:
        return change if cause == "pr" else None
    fields = [f for f in change.fields if f.cause == cause]
    members = [m for m in change.members if m.cause == cause]
    if change.action in (Action.UPDATE, Action.REPLACE) and (change.fields or change.members):
        if not fields and not members:
            return None
        return dataclasses.replace(
            change,
            fields=fields,
            members=members,
            guards=change.guards if change.cause == cause else [],
        )
    return change if change.cause == cause else None


def sections(plan: Plan) -> list[tuple[str, list[Change]]]:
    """A `--base` plan's two sections: what the pull request changes, and the drift apply
    would also revert; each change's part of that cause."""
    out = []
    for cause, title in (("pr", PR_TITLE), ("drift", DRIFT_TITLE)):
        found = [p for c in plan.changes if (p := part(c, cause)) is not None]
        out.append((title, found))
    return out


def removed_lines(plan: Plan) -> list[str]:
    """Documents the pull request removed whose objects the plan does not delete."""
    if plan.partial is None:
        return []
    deleted = {c.address for c in plan.changes}
    kept = [a for a in plan.partial.removed if a not in deleted]
    if not kept:
        return []
    return ["No longer declared (left as they are: prune does not cover them):"] + [
        f"  {esc(a)}" for a in kept
    ]


def member_totals(plan: Plan) -> str | None:
    counts = {"add": 0, "change": 0, "remove": 0}
    for c in plan.changes:
        for m in c.members:
            counts[m.action] += 1
    if not any(counts.values()):
        return None
    return (
        f"Members: {counts['add']} to add, {counts['change']} to change, "
        f"{counts['remove']} to remove."
    )


def ignored_lines(plan: Plan) -> list[str]:
    """`Ignored:` and one line per difference an active drift ignore left out (docs/governance.md):
    address, what, owner, until and reason; none when nothing was ignored."""
    if not plan.ignored:
        return []
    lines = ["Ignored:"]
    for i in plan.ignored:
        lines.append(
            f"  {esc(i.address)}: {esc(i.what)} (owner {esc(i.owner)}, until {esc(i.until)}): "
            f"{esc(i.reason)}"
        )
    return lines


def render_plan(plan: Plan) -> str:
    lines: list[str] = governance_block(plan.governance) if plan.governance else []
    if plan.partial is None:
        for change in plan.changes:
            lines.extend(render_change(change))
            lines.append("")
    else:
        for title, found in sections(plan):
            lines.append(click.style(title, bold=True))
            if not found:
                lines.append("  (none)")
            for change in found:
                lines.extend(render_change(change))
            lines.append("")
        if removed := removed_lines(plan):
            lines += [*removed, ""]
    if plan.ignored:
        lines += [*ignored_lines(plan), ""]
    if plan.protected:
        lines += [*protected_lines(plan), ""]
    totals = member_totals(plan)
    if totals:
        lines.append(totals)
    note = targeted_note(plan)
    if note and not plan.empty:
        lines.append(note)
    lines.append(click.style(summary(plan), bold=True))
    return "\n".join(lines)


def render_results(results: list[Result]) -> str:
    lines = []
    colour = {
        Outcome.APPLIED: "green",
        Outcome.CONFLICT: "yellow",
        Outcome.FAILED: "red",
        Outcome.REFUSED: "red",
    }
    for r in sorted(results, key=lambda r: r.change.address):
        word = r.outcome.value
        if r.outcome is Outcome.REFUSED and r.rules:
            word += f" (guard {', '.join(r.rules)})"
        tag = click.style(f"{word:>8}", fg=colour.get(r.outcome, "white"))
        lines.append(
            f"{tag}  {esc(r.change.address)}" + (f": {esc(r.message)}" if r.message else "")
        )
    n = {o: sum(1 for r in results if r.outcome is o) for o in Outcome}
    refused = f", {n[Outcome.REFUSED]} refused" if n[Outcome.REFUSED] else ""
    lines.append(
        click.style(
            f"Apply complete: {n[Outcome.APPLIED]} applied, {n[Outcome.CONFLICT]} conflict, "
            f"{n[Outcome.FAILED]} failed{refused}."
            + (f" {n[Outcome.SKIPPED]} not started." if n[Outcome.SKIPPED] else ""),
            bold=True,
        )
    )
    return "\n".join(lines)


def refusal_line(refusals: Refusals) -> str:
    """The plan's closing line when apply would refuse some of it (docs/governance.md):
    `Apply would refuse: N changes (guards: ..., safety: ...)`."""
    n = refusals.count
    what = "; ".join(f"{name}: {detail}" for name, detail in refusals.parts())
    return f"Apply would refuse: {n} change{'s' * (n != 1)} ({esc(what)})"
