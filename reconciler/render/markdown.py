"""Markdown for pull-request comments: a summary table, then each change folded."""

from __future__ import annotations

from reconciler.model import Plan
from reconciler.render.text import summary


def render_markdown(plan: Plan, title: str = "Plan") -> str:
    return f"## reconciler {title.lower()}\n\n{summary(plan)}\n"
