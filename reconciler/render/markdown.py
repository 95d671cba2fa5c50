"""Markdown for pull-request comments: a summary table, then each change folded; capped."""

from __future__ import annotations

import re

import click

from reconciler.model import SYMBOLS, Action, Plan
from reconciler.render import escape
from reconciler.render.text import member_totals, render_change, summary

LIMIT = 60_000
_RESERVE = 600  # room for the "left out" note and the footer


def _section(lines: list[str]) -> str:
    head, body = click.unstyle(lines[0]).strip(), [click.unstyle(x) for x in lines[1:]]
    text = "\n".join(line[4:] if line.startswith("    ") else line for line in body)
    # Values are escaped by the text renderer (one line each); inside the code block they
    # are literal, and the fence is longer than any run of backticks they hold.
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall("`{3,}", text))])
    return (
        f"<details><summary><code>{escape.html(head)}</code></summary>\n\n"
        f"{fence}diff\n{text}\n{fence}\n</details>\n"
    )


def render_markdown(plan: Plan, title: str = "Plan") -> str:
    out = [f"### reconciler {title.lower()}", ""]
    if plan.empty:
        out.append(f"**{summary(plan)}**")
        return "\n".join(out) + "\n"
    out += [f"**{summary(plan)}**", ""]
    totals = member_totals(plan)
    if totals:
        out += [totals, ""]
    out += ["| provider | kind | " + " | ".join(a.value for a in Action) + " |"]
    out += ["|---|---|" + "---:|" * len(Action)]
    counts: dict[tuple[str, str], dict[Action, int]] = {}
    for c in plan.changes:
        row = counts.setdefault((c.provider, c.kind), dict.fromkeys(Action, 0))
        row[c.action] += 1
    for (provider, kind), row in sorted(counts.items()):
        cells = " | ".join(str(row[a]) for a in Action)
        out.append(f"| {escape.markdown(provider)} | {escape.markdown(kind)} | {cells} |")
    out.append("")
    text = "\n".join(out) + "\n"
    shown = 0
    for change in plan.changes:
        section = _section(render_change(change))
        if len(text) + len(section) > LIMIT - _RESERVE:
            break
        text += section
        shown += 1
    left = len(plan.changes) - shown
    if left:
        actions = {a: 0 for a in Action}
        for c in plan.changes[shown:]:
            actions[c.action] += 1
        detail = ", ".join(f"{n} {SYMBOLS[a]} {a.value}" for a, n in actions.items() if n)
        text += (
            f"\n> **{left} of {len(plan.changes)} changes not shown** ({detail}) to stay under "
            f"GitHub's comment size; run `reconciler plan` for the full plan.\n"
        )
    return text
