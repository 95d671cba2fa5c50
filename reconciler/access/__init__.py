"""The access report (docs/access.md): who can reach what, across every provider.

`model` holds the rows, `render` writes them as text, CSV, JSON and HTML.
"""

from __future__ import annotations

from reconciler.access.model import (
    ACCESS,
    COLUMNS,
    FORMAT_VERSION,
    ROLE_COLUMNS,
    STATUSES,
    Report,
    RoleRow,
    Row,
    Summary,
)

__all__ = [
    "ACCESS",
    "COLUMNS",
    "FORMAT_VERSION",
    "ROLE_COLUMNS",
    "STATUSES",
    "Report",
    "RoleRow",
    "Row",
    "Summary",
]
