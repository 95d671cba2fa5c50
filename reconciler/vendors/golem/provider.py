"""Golem Cloud: permission shares, written with the revision the plan read."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from reconciler.plugin import (
    Action,
    Change,
    Grant,
    KindHandler,
    KindSpec,
    LiveObject,
    ProviderError,
    ReconcilerError,
    Resource,
    Response,
    State,
    VendorDefaults,
    json_or_none,
    lapsed,
    notices,
)
from reconciler.vendors.golem.reads import _data, _uuid
from reconciler.vendors.golem.vocab import DATA_KEYS, ID
from reconciler.vendors.golem.writes import EMAIL, GolemWrites

SHARE = "GolemPermissionShare"


class PermissionShares(KindHandler["GolemProvider"]):
    """Permission shares of owner accounts, written with the revision the plan read."""

    SPEC = KindSpec(
        SHARE,
        identity=("owner_account_id", "name"),
        replace_fields=("target_account_id",),
        prune_key="permission_shares",
        revisioned=True,
    )

    # -- offline ----------------------------------------------------------------------

    def identity(self, spec: dict[str, Any]) -> tuple[str, ...]:
        # UUIDs in any case name one account: the API answers them in lower case.
        return (_uuid(spec.get("owner_account_id")), str(spec.get("name") or ""))

    def scope(self, spec: dict[str, Any]) -> str:
        return _uuid(spec["owner_account_id"])

    def normalise(self, spec: dict[str, Any]) -> State:
        state: State = {"target_account_id": _uuid(spec["target_account_id"])}
        if spec.get(EMAIL):
            state[EMAIL] = str(spec[EMAIL])
        # A spec without `data` leaves the grants unmanaged; inside it, a missing list is empty.
        if "data" in spec:
            state["data"] = _data(spec["data"] or {})
        return state

    def check(
        self, spec: dict[str, Any], path: tuple[Any, ...]
    ) -> list[tuple[tuple[Any, ...], str]]:
        problems: list[tuple[tuple[Any, ...], str]] = []
        if _uuid(spec.get("target_account_id")) == _uuid(spec.get("owner_account_id")):
            problems.append(
                (("target_account_id",), "an account cannot share permissions with itself")
            )
        for key in DATA_KEYS:
            for i, grant in enumerate((spec.get("data") or {}).get(key) or []):
                if not grant.strip():
                    problems.append((("data", key, i), "a grant must not be blank"))
        return problems

    # -- the access report ------------------------------------------------------------

    def grants(self, state: State, labels: Mapping[str, str]) -> list[Grant] | None:
        # Grant strings are opaque: the access is `grant`, the strings are the detail.
        target = str(state.get("target_account_id") or "")
        if not target:
            return []
        data = state.get("data")
        lists = data if isinstance(data, dict) else {}
        detail = "; ".join(
            f"{key}: {grant}" for key in DATA_KEYS for grant in _strings(lists.get(key))
        )
        key = f"golem-account:{target.lower()}"
        return [Grant(key, labels.get(target) or target, "grant", detail)]

    def claims(self, person: Mapping[str, Any]) -> set[str]:
        return {f"golem-account:{str(a).lower()}" for a in person.get("golem_accounts") or []}

    # -- online -------------------------------------------------------------------------

    async def read(
        self, p: GolemProvider, resources: list[Resource], prune: bool
    ) -> list[LiveObject]:
        accounts = sorted({r.scope for r in resources})
        wanted = {r.identity: r for r in resources}
        listed = await asyncio.gather(*(p.list_shares(acc) for acc in accounts))
        found = [obj for objs in listed for obj in objs if prune or obj.identity in wanted]
        by_identity = {obj.identity: obj for obj in found}
        for r in resources:
            live = by_identity.get(r.identity)
            same = (
                live is not None
                and live.state["target_account_id"] == r.desired["target_account_id"]
            )
            if live is not None and same and EMAIL in r.desired:
                live.state[EMAIL] = r.desired[EMAIL]
        await self._resolve_emails(p, resources, by_identity)
        return found

    async def _resolve_emails(
        self, p: GolemProvider, resources: list[Resource], live: dict[Any, LiveObject]
    ) -> None:
        """In the email form, the email of each target a create (or replace) needs and the
        manifest does not give, read once per target before anything is written; one that
        cannot be read is a warning now and fails that object at apply, before its writes."""
        if p.create_form != "email":
            return
        needs = [
            r
            for r in resources
            if EMAIL not in r.desired
            and not lapsed(r.expires)
            and (
                r.identity not in live
                or live[r.identity].state["target_account_id"] != r.desired["target_account_id"]
            )
        ]
        targets = sorted({r.desired["target_account_id"] for r in needs})
        await asyncio.gather(*(p.email_of(t, strict=False) for t in targets))
        for r in needs:
            found = p.emails.get(r.desired["target_account_id"])
            if isinstance(found, str):
                r.desired[EMAIL] = found
            elif found is not None:
                notices.warn(
                    r.source.file, r.source.line, r.source.column, f"{r.address}: {found.detail}"
                )

    async def read_one(self, p: GolemProvider, change: Change) -> LiveObject | None:
        if change.live is not None:
            # By id: a share deleted and re-created under the same name since the plan is a
            # different share (possibly at the same revision), so it must read as gone.
            return await p.share_by_id(change.scope, change.live.handle["id"])
        return await p.share_by_name(change.scope, change.identity[1])

    async def write(self, p: GolemProvider, change: Change, current: LiveObject | None) -> None:
        if change.action is Action.CREATE:
            await p.create_share(change)
        elif change.action is Action.UPDATE:
            await p.update_share(change)
        elif change.action is Action.DELETE:
            await p.delete_share(change)
        else:
            # The target cannot change in place, and the name must be free to create again.
            # The create body is made first: a target whose email cannot be had fails the
            # object before its share is deleted, never after.
            body = await p.create_body(change)
            await p.delete_share(change)
            try:
                await p.create_share(change, body)
            except ProviderError as exc:
                raise type(exc)(
                    p.alias, f"deleted, not recreated: {exc.detail}", exc.status, exc.code
                ) from None

    # -- export ----------------------------------------------------------------------------

    async def scopes(self, p: GolemProvider) -> list[str]:
        raise ReconcilerError("golem: the API cannot list owner accounts; pass --scope ACCOUNT_ID")

    async def export(self, p: GolemProvider, scopes: list[str]) -> list[dict[str, Any]]:
        listed = await asyncio.gather(*(p.list_shares(acc) for acc in sorted(set(scopes))))
        objs = sorted((o for objs in listed for o in objs), key=lambda o: o.identity)
        return [
            {
                "owner_account_id": o.scope,
                "name": o.identity[1],
                "target_account_id": o.state["target_account_id"],
                "data": o.state["data"],
            }
            for o in objs
        ]


class GolemProvider(GolemWrites):
    TYPE = "golem"
    DEFAULTS = VendorDefaults(
        base_url="https://release.api.golem.cloud",
        credential_env="GOLEM_TOKEN",
        credential_key="token_env",
        credential_prefixes=("GOLEM_",),
        vendor_hosts=("release.api.golem.cloud",),
        options={"create_target_by": "email"},
    )
    ID_FORMAT = ID
    HANDLERS = (PermissionShares(),)

    def auth_headers(self, credential: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential}"}

    def parse_error(self, response: Response) -> tuple[str | None, str]:
        body = json_or_none(response)
        if not isinstance(body, dict):
            return None, f"HTTP {response.status_code}"
        code = body.get("code")
        # 400 carries a list of messages under "errors"; every other status one "error".
        errors = body.get("errors")
        message = "; ".join(map(str, errors)) if isinstance(errors, list) else body.get("error")
        return code, str(message or code or f"HTTP {response.status_code}")


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
