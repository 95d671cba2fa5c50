"""What an offline command (validate, expiring, access --desired) says about a refusal only
the pipeline's environment decides: the same problem line, as a warning that plan and apply
will refuse it, and exit 0."""

from __future__ import annotations

import re

from reconciler.input.config import REFUSED_LATER

_LINE = re.compile(r"^(?P<at>[^\s:]+:\d+:\d+): (?P<message>.*)$")


def as_warning(line: str) -> str:
    """`file:line:col: message` as the offline warning of that refusal."""
    found = _LINE.match(line)
    assert found, line
    return f"{found['at']}: warning: {found['message']} ({REFUSED_LATER})"
