"""The access report: who can reach what across every provider, collected from live
reads and written as text, CSV, JSON or HTML (docs/access.md).
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
