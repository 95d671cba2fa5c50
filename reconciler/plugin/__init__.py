"""What a vendor author reads: the provider contract, the registry, HTTP with its retry
rule, endpoint safety and answer parsing.

A vendor's `provider.py` imports from this package only: everything it needs, values
of the core included, is named here (`from reconciler.plugin import Provider, ...`).
"""

from reconciler.core import notices
from reconciler.core.errors import (
    AuthError,
    ConflictError,
    Problem,
    ProviderError,
    ProviderStopped,
    ReconcilerError,
    UnclearOutcome,
)
from reconciler.core.ids import UUID, IdFormat, path_text
from reconciler.core.model import (
    Action,
    Change,
    KindSpec,
    LiveObject,
    MemberChange,
    Resource,
    State,
)
from reconciler.core.settings import ProviderConfig, VendorDefaults
from reconciler.plugin.answers import kind_of, reading, records
from reconciler.plugin.http import Response, json_or_none
from reconciler.plugin.provider import (
    NOTE,
    Export,
    Grant,
    GrantAccess,
    GuardFacts,
    KindHandler,
    KindIO,
    MemberListHandler,
    OfflineChecks,
    Provider,
    ReportFacts,
    RoleGrant,
    lapsed,
    option,
)
from reconciler.plugin.registry import Vendor

__all__ = [
    "NOTE",
    "UUID",
    "Action",
    "AuthError",
    "Change",
    "ConflictError",
    "Export",
    "Grant",
    "GrantAccess",
    "GuardFacts",
    "IdFormat",
    "KindHandler",
    "KindIO",
    "KindSpec",
    "LiveObject",
    "MemberChange",
    "MemberListHandler",
    "OfflineChecks",
    "Problem",
    "Provider",
    "ProviderConfig",
    "ProviderError",
    "ProviderStopped",
    "ReconcilerError",
    "ReportFacts",
    "Resource",
    "Response",
    "RoleGrant",
    "State",
    "UnclearOutcome",
    "Vendor",
    "VendorDefaults",
    "json_or_none",
    "kind_of",
    "lapsed",
    "notices",
    "option",
    "path_text",
    "reading",
    "records",
]
