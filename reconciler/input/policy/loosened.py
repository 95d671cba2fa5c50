"""What a pull request's config loosens against its base branch's config: the list the
governance block of a `--base` plan shows."""

from __future__ import annotations

from typing import Any

from reconciler.core.settings import Config


def loosened(base: Config, head: Config) -> list[dict[str, Any]]:
    """What the head config loosens compared with the base's: each a record `{setting,
    base, head, message}` for the governance block."""
    out: list[dict[str, Any]] = []

    def add(setting: str, was: Any, now: Any, message: str) -> None:
        out.append({"setting": setting, "base": _show(was), "head": _show(now), "message": message})

    for rule in sorted(set(head.guards.disabled) - set(base.guards.disabled)):
        add(
            "guards.disabled",
            list(base.guards.disabled),
            list(head.guards.disabled),
            f"disables guard {rule}",
        )
    higher = {
        "safety.max_delete_percent": (
            base.safety.max_delete_percent,
            head.safety.max_delete_percent,
        ),
        "safety.max_update_percent": (
            base.safety.max_update_percent,
            head.safety.max_update_percent,
        ),
        "safety.min_existing": (base.safety.min_existing, head.safety.min_existing),
        "guards.max_new_members": (base.guards.max_new_members, head.guards.max_new_members),
    }
    for setting, (was, now) in higher.items():
        if now > was:
            add(setting, was, now, f"raises {setting} from {_show(was)} to {_show(now)}")
    if base.max_grant_days is not None and (
        head.max_grant_days is None or head.max_grant_days > base.max_grant_days
    ):
        add("max_grant_days", base.max_grant_days, head.max_grant_days, "raises max_grant_days")
    if base.guards.admin_permissions is not None or head.guards.admin_permissions is not None:
        was_admin = base.guards.admin_permissions
        now_admin = head.guards.admin_permissions
        if was_admin is not None and now_admin is not None and was_admin - now_admin:
            dropped = sorted(was_admin - now_admin)
            add(
                "guards.admin_permissions",
                sorted(was_admin),
                sorted(now_admin),
                f"drops admin permissions {', '.join(dropped)}",
            )
    for glob in [g for g in base.protect if g not in head.protect]:
        add("protect", list(base.protect), list(head.protect), f"removes protect glob {glob}")
    was_ignores = {(i.address, i.member, i.fields) for i in base.ignores}
    for i in head.ignores:
        if (i.address, i.member, i.fields) not in was_ignores:
            add(
                "ignore", None, i.name, f"adds {i.name} (owner {i.owner}, until {i.until:%Y-%m-%d})"
            )
    for alias, p in sorted(head.providers.items()):
        old = base.providers.get(alias)
        if old is None:
            add(
                f"providers.{alias}",
                None,
                p.base_url,
                f"adds provider {alias} ({p.type}, {p.base_url})",
            )
            continue
        if (old.type, old.base_url.rstrip("/"), old.credential_env) != (
            p.type,
            p.base_url.rstrip("/"),
            p.credential_env,
        ):
            add(
                f"providers.{alias}",
                f"{old.base_url} {old.credential_env}",
                f"{p.base_url} {p.credential_env}",
                f"re-points provider {alias}",
            )
        for word in sorted(set(p.prune) - set(old.prune)):
            add(f"providers.{alias}.prune", list(old.prune), list(p.prune), f"adds prune {word}")
        was_roles = set(old.options.get("protected_roles") or ())
        now_roles = set(p.options.get("protected_roles") or ())
        for name in sorted(was_roles - now_roles):
            add(
                f"providers.{alias}.protected_roles",
                sorted(was_roles),
                sorted(now_roles),
                f"stops protecting role {name}",
            )
    return out


def _show(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v
