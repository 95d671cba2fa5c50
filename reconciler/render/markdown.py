"""Markdown for pull-request comments: the risk summary, a summary table, then each change
folded; capped, but never the risk summary nor the list of changed addresses."""

from __future__ import annotations

import re
from collections.abc import Iterable

import click

from reconciler.core import escape
from reconciler.core.model import SYMBOLS, Action, Change, Plan
from reconciler.render import drift
from reconciler.render.governance import governance_items, risk_items
from reconciler.render.text import (
    member_totals,
    protected_note,
    removed_lines,
    render_change,
    sections,
    summary,
    targeted_note,
)

LIMIT = 60_000
_RESERVE = 600  # room for the "left out" note and the footer


def _section(lines: list[str], lang: str = "diff") -> str:
    head, body = click.unstyle(lines[0]).strip(), [click.unstyle(x) for x in lines[1:]]
    text = "\n".join(line[4:] if line.startswith("    ") else line for line in body)
    # Values are escaped by the text renderer (one line each); inside the code block they
    # are literal, and the fence is longer than any run of backticks they hold.
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall("`{3,}", text))])
    return (
        f"<details><summary><code>{escape.html(head)}</code></summary>\n\n"
        f"{fence}{lang}\n{text}\n{fence}\n</details>\n"
    )


def risk_summary(plan: Plan, risks: bool = True) -> str:
    """`#### Risk summary`: the governance block, then every risk (policy.risks); "" for a
    plan without a governance block (a hand-made one). Drift shows the governance only."""
    gov = plan.governance
    if gov is None:
        return ""
    rows = ["#### Risk summary" if risks else "#### Governance", ""]
    rows += [f"- {escape.markdown(x)}" for x in governance_items(gov)]
    if not risks:
        return "\n".join(rows) + "\n\n"
    rows.append("")
    found = risk_items(gov)
    if found:
        rows += [f"**Risks ({len(found)})**", ""]
        rows += [f"- ⚠️ {escape.markdown(x)}" for x in found]
    else:
        rows.append(
            "No change trips a guard, grants a privilege, opens an object to everyone or "
            "removes a manager."
        )
    return "\n".join(rows) + "\n\n"


def _address_line(c: Change) -> str:
    return f"- `{SYMBOLS[c.action]}` {escape.markdown(c.address)}\n"


def _capped_changes(text: str, changes: list[Change]) -> tuple[str, int]:
    """`text`, then each change folded while the comment stays under the limit with one
    line for each change left out still to come: every changed address is listed."""
    lines = [_address_line(c) for c in changes]
    rest = [0] * (len(changes) + 1)  # rest[i]: the lines of changes i.. take
    for i in range(len(changes) - 1, -1, -1):
        rest[i] = rest[i + 1] + len(lines[i])
    shown = 0
    room = LIMIT - _RESERVE
    if len(text) + rest[0] > room:
        # Not even one line each fits: half the room for details, the rest for lines.
        room = len(text) + (room - len(text)) // 2
        rest = [0] * len(rest)
    for i, c in enumerate(changes):
        section = _section(render_change(c))
        if len(text) + len(section) + rest[i + 1] > room:
            break
        text += section
        shown += 1
    return text, shown


def _capped(text: str, sections: Iterable[str]) -> tuple[str, int]:
    """`text` followed by as many `sections` as stay under the comment limit, and how many."""
    shown = 0
    for section in sections:
        if len(text) + len(section) > LIMIT - _RESERVE:
            break
        text += section
        shown += 1
    return text, shown


def ignored_section(plan: Plan) -> str:
    """`#### Ignored`: a table of what active drift ignores left out; "" when nothing."""
    if not plan.ignored:
        return ""
    rows = ["", "#### Ignored", "", "| address | what | owner | until | reason |"]
    rows.append("|---|---|---|---|---|")
    for i in plan.ignored:
        cells = (i.address, i.what, i.owner, i.until, i.reason)
        rows.append("| " + " | ".join(escape.markdown(c) for c in cells) + " |")
    return "\n".join(rows) + "\n"


def protected_section(plan: Plan) -> str:
    """`#### Protected from prune`: undeclared objects `settings.protect` kept; "" when none."""
    if not plan.protected:
        return ""
    rows = ["", "#### Protected from prune", ""]
    rows += [f"- {escape.markdown(a + protected_note(plan, a))}" for a in plan.protected]
    return "\n".join(rows) + "\n"


def _guard_cell(changes: list[Change]) -> str:
    """The summary table's warning: guards that refuse apply, then allowed ones."""
    found = [f for c in changes for f in c.guards]
    refused = sum(1 for f in found if not f.allowed)
    allowed = len(found) - refused
    cell = [f"⚠️ {refused}"] if refused else []
    return " ".join(cell + ([f"{allowed} allowed"] if allowed else []))


def render_markdown(plan: Plan, title: str = "Plan") -> str:
    return _with_lists(_render_markdown(plan, title), plan, protected=True)


def _with_lists(text: str, plan: Plan, protected: bool) -> str:
    """`text` and the ignored (and protected) lists, each only while the comment stays
    under LIMIT; a list that does not fit is named instead, so nothing passes the cap."""
    lists = [("Ignored", len(plan.ignored), ignored_section(plan))]
    if protected:
        lists.append(("Protected from prune", len(plan.protected), protected_section(plan)))
    for name, count, section in lists:
        if not section:
            continue
        if len(text) + len(section) <= LIMIT:
            text += section
        else:
            text += (
                f"\n> **{name}: {count} entries not shown** to stay under GitHub's comment "
                "size; run `reconciler plan` for the full list.\n"
            )
    return text


def _render_markdown(plan: Plan, title: str) -> str:
    out = [f"### reconciler {title.lower()}", ""]
    top = risk_summary(plan)
    if top:
        out += [top.rstrip("\n"), ""]
    if plan.empty:
        out.append(f"**{summary(plan)}**")
        return "\n".join(out) + "\n"
    out += [f"**{summary(plan)}**", ""]
    note = targeted_note(plan)
    if note:
        out += [note, ""]
    totals = member_totals(plan)
    if totals:
        out += [totals, ""]
    # A guards column only when some change trips one (docs/governance.md).
    guarded = any(c.guards for c in plan.changes)
    extra = " guards |" if guarded else ""
    out += ["| provider | kind | " + " | ".join(a.value for a in Action) + " |" + extra]
    out += ["|---|---|" + "---:|" * len(Action) + ("---|" if guarded else "")]
    counts: dict[tuple[str, str], dict[Action, int]] = {}
    by_kind: dict[tuple[str, str], list[Change]] = {}
    for c in plan.changes:
        row = counts.setdefault((c.provider, c.kind), dict.fromkeys(Action, 0))
        row[c.action] += 1
        by_kind.setdefault((c.provider, c.kind), []).append(c)
    for (provider, kind), row in sorted(counts.items()):
        cells = " | ".join(str(row[a]) for a in Action)
        if guarded:
            cells += f" | {_guard_cell(by_kind[(provider, kind)])}"
        out.append(f"| {escape.markdown(provider)} | {escape.markdown(kind)} | {cells} |")
    out.append("")
    text = "\n".join(out) + "\n"
    if plan.partial is None:
        return _changes_block(text, plan.changes)
    for title, found in sections(plan):
        text += f"\n#### {escape.markdown(title.rstrip(':'))}\n\n"
        text = _changes_block(text, found) if found else text + "None.\n"
    removed = removed_lines(plan)
    if removed:
        text += f"\n#### {escape.markdown(removed[0].rstrip(':'))}\n\n"
        text += "".join(f"- {escape.markdown(x.strip())}\n" for x in removed[1:])
    return text


def _changes_block(text: str, changes: list[Change]) -> str:
    """`text`, then `changes` folded, capped: every changed address is still listed."""
    text, shown = _capped_changes(text, changes)
    left = len(changes) - shown
    if left:
        actions = {a: 0 for a in Action}
        for c in changes[shown:]:
            actions[c.action] += 1
        detail = ", ".join(f"{n} {SYMBOLS[a]} {a.value}" for a, n in actions.items() if n)
        text += (
            f"\n> **{left} of {len(changes)} changes not shown in detail** ({detail}) to "
            "stay under GitHub's comment size; each is listed below. Run `reconciler plan` "
            "(or see the saved plan file) for the full plan.\n\n"
        )
        listed = 0
        for c in changes[shown:]:
            line = _address_line(c)
            if len(text) + len(line) > LIMIT - _RESERVE:
                break
            text += line
            listed += 1
        unlisted = left - listed
        if unlisted:
            # Only past GitHub's own limit (a comment of more than 65,536 characters is
            # refused, so none would be shown): every risk is in the summary above.
            text += (
                f"\n> **{unlisted} more changed addresses not listed**: a comment cannot "
                "hold them all. Every risk is in the risk summary above; the plan file "
                "lists every change.\n"
            )
    return text


def render_drift_markdown(plan: Plan) -> str:
    """Drift for an issue or PR comment, from the live side (render/drift.py): a summary,
    a table per provider and kind, then each drifted object folded; capped like a plan."""
    return _with_lists(_render_drift_markdown(plan), plan, protected=False)


def _render_drift_markdown(plan: Plan) -> str:
    out = ["### reconciler drift", ""]
    top = risk_summary(plan, risks=False)
    if top:
        out += [top.rstrip("\n"), ""]
    objects = drift.drifted(plan)
    out += [f"**{drift.summary(plan)}**", ""]
    if not objects:
        return "\n".join(out[:-1]) + "\n"
    out += [drift.breakdown(objects), ""]
    sorts = list(drift.SYMBOL)
    out += [
        "| provider | kind | differs | absent live | unmanaged | protected (not drift) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for d in objects:
        provider, kind = d.address.split("/")[:2]
        counts.setdefault((provider, kind), dict.fromkeys(sorts, 0))[d.sort] += 1
    for (provider, kind), row in sorted(counts.items()):
        cells = " | ".join(str(row[s]) for s in sorts)
        out.append(f"| {escape.markdown(provider)} | {escape.markdown(kind)} | {cells} |")
    out.append("")
    text, shown = _capped(
        "\n".join(out) + "\n", (_section(drift.render_object(d), "text") for d in objects)
    )
    left = len(objects) - shown
    if left:
        text += (
            f"\n> **{left} of {len(objects)} drifted objects not shown** to stay under "
            f"GitHub's comment size; run `reconciler drift` for the full report.\n"
        )
    return text
