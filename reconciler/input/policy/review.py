"""What a reviewer must see first in a plan: the documents' allows and the risky changes."""

from __future__ import annotations

from typing import Any

from reconciler.core.model import Action, Change, Plan
from reconciler.core.settings import GuardSettings
from reconciler.governance import guards
from reconciler.input.policy.floor import DEFAULT_MAX_NEW_MEMBERS, default_admin
from reconciler.plugin.registry import kind_types, providers


def allows(plan: Plan) -> list[dict[str, Any]]:
    """Each `metadata.allow` on a changed object: address, rule, reason, source."""
    return [
        {"address": c.address, "rule": rule, "reason": reason, "source": str(c.source or "")}
        for c in plan.changes
        for rule, reason in sorted(c.allows.items())
    ]


def _handler(kind: str) -> Any:
    vtype = kind_types().get(kind)
    return providers()[vtype].handlers.get(kind) if vtype else None


def risks(plan: Plan, settings: GuardSettings) -> list[dict[str, Any]]:
    """Each change that trips a guard, grants a privilege, opens an object to everyone or
    removes a manager, whatever the settings in force turn off: the rules run with none
    disabled, the admin list at least the built-in one and max_new_members at most its
    default. `status` says whether apply refuses it (`refused`), a document allows it
    (`allowed`), or the settings in force let it through (`not refused: ...`)."""
    watch = GuardSettings(
        admin_permissions=default_admin() | (settings.admin_permissions or frozenset()),
        max_new_members=min(settings.max_new_members, DEFAULT_MAX_NEW_MEMBERS),
    )
    out: list[dict[str, Any]] = []
    for change in plan.changes:
        enforced = {f.rule for f in change.guards}
        tripped = []
        for f in guards.findings(change, watch):
            if f.allowed:
                status = "allowed"
            elif f.rule in enforced:
                status = "refused"
            elif f.rule in settings.disabled:
                status = "not refused: the rule is disabled"
            else:
                status = "not refused: the settings in force are looser"
            tripped.append(f.rule)
            entry = {"address": change.address, "rule": f.rule, "message": f.message}
            entry["status"] = status
            if f.reason:
                entry["reason"] = f.reason
            out.append(entry)
        out.extend(_manager_changes(change, guards.LAST_MANAGER in tripped))
    return out


def _manager_changes(change: Change, last_reported: bool) -> list[dict[str, Any]]:
    """A manager added (a privileged grant) or removed, beside what the guards say."""
    handler = _handler(change.kind)
    if handler is None or change.live is None or change.action is Action.DELETE:
        return []
    try:
        had = handler.managers(change.live.state) or set()
        has = handler.managers(change.desired or {}) or set()
    except (TypeError, ValueError, AttributeError, KeyError):
        return []
    out = []
    removed, added = sorted(had - has), sorted(has - had)
    what = handler.MANAGER
    if removed and not last_reported:
        message = f"removes {what}{'s' * (len(removed) != 1)} {', '.join(removed)}"
        out.append(_info(change, "manager-removed", message))
    if added:
        message = f"adds {what}{'s' * (len(added) != 1)} {', '.join(added)}"
        out.append(_info(change, "manager-added", message))
    return out


def _info(change: Change, rule: str, message: str) -> dict[str, Any]:
    return {"address": change.address, "rule": rule, "message": message, "status": "for review"}
