"""Golem reads: an owner account's permission shares, one share by name or by id."""

from __future__ import annotations

from typing import Any

from reconciler.plugin import (
    LiveObject,
    Provider,
    ProviderError,
    json_or_none,
    kind_of,
    path_text,
    reading,
)
from reconciler.vendors.golem.vocab import DATA_KEYS


class GolemReads(Provider):
    """The Golem calls that read shares; `GolemWrites` and the handler build on them."""

    async def list_shares(self, acc: str) -> list[LiveObject]:
        path = f"/v1/accounts/{self.path_id(acc, 'owner_account_id')}/permission-shares"
        response = await self.http.request("GET", path)
        body = json_or_none(response)
        values = body.get("values") if isinstance(body, dict) else None
        if not isinstance(values, list):
            raise ProviderError(self.alias, f"GET shares of {acc}: response has no values list")
        with reading(self.alias, f"GET {path}"):
            return [_share(acc, s) for s in values]

    async def share_by_name(self, acc: str, name: str) -> LiveObject | None:
        owner = self.path_id(acc, "owner_account_id")
        path = f"/v1/accounts/{owner}/permission-shares/{path_text(name)}"
        return await self._get_share(acc, path)

    async def share_by_id(self, acc: str, sid: str) -> LiveObject | None:
        return await self._get_share(acc, f"/v1/permission-shares/{self.path_id(sid, 'share id')}")

    async def _get_share(self, acc: str, path: str) -> LiveObject | None:
        share = await self.get_object(path, refused="response is not a share")
        if share is None:
            return None
        with reading(self.alias, f"GET {path}"):
            return _share(acc, share)


def _data(raw: dict[str, Any]) -> dict[str, list[str]]:
    out = {k: raw.get(k) or [] for k in DATA_KEYS}
    for k, values in out.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise TypeError(f"data.{k} is not a list of strings")
    return {k: sorted(set(values)) for k, values in out.items()}


def _share(acc: str, share: dict[str, Any]) -> LiveObject:
    # The identity uses the account as the manifests name it, not the API's spelling of it.
    state = {
        "target_account_id": _uuid(share["targetAccountId"]),
        "data": _data(share.get("data") or {}),
    }
    return LiveObject(
        (acc, str(share["name"])),
        state,
        {"id": str(share["id"])},
        revision=_revision(share["revision"]),
        scope=acc,
    )


def _uuid(value: Any) -> str:
    """A UUID as the API spells it: lower case."""
    return str(value or "").lower()


def _revision(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"revision is {kind_of(value)}, expected an integer")
    return value
