"""Salesforce writes: one POST for the new shares of a folder, a checked DELETE per share."""

from __future__ import annotations

from typing import Any

from reconciler.plugin import (
    ConflictError,
    MemberChange,
    ProviderError,
    Response,
)
from reconciler.vendors.salesforce.ids import canonical_or_raw
from reconciler.vendors.salesforce.reads import SalesforceReads, _live_key
from reconciler.vendors.salesforce.vocab import ORG_WIDE


class SalesforceWrites(SalesforceReads):
    """The Salesforce calls that add and remove a folder's shares."""

    async def post_shares(self, fid: str, adds: list[MemberChange]) -> None:
        """One POST for every new share; after an unclear answer, post only what is missing."""
        path = f"/folders/{self.path_id(fid, 'folder_id')}/shares"
        pending = adds

        async def post() -> Response:
            body = {"shares": [_wire(m.key, m.after) for m in pending]}
            return await self.http.request("POST", path, json=body)

        async def find() -> list[dict[str, Any]] | None:
            """The folder's shares once every new one is there; else None, and `pending`
            keeps only the missing ones for the next POST."""
            nonlocal pending
            shares = await self.list_shares(fid)
            if shares is None:
                raise ProviderError(self.alias, f"POST {path}: folder {fid} is no longer readable")
            held = {_live_key(s) for s in shares}
            pending = [m for m in pending if m.key not in held]
            return None if pending else shares

        # A duplicate after an unclear try is most likely our own lost success.
        await self.http.create_once(
            post, find, duplicate=lambda e: e.code == "DUPLICATE_VALUE", what=f"POST {path}"
        )

    async def delete_share(self, fid: str, key: str, sid: str) -> None:
        """DELETE one share. A 404 also means "no access to this folder", so it counts as
        done only when a fresh read of the folder succeeds without the share."""
        path = f"/folders/{self.path_id(fid, 'folder_id')}/shares/{self.path_id(sid, 'share id')}"
        response = await self.http.request("DELETE", path, accept=(404,))
        if response.status_code != 404:
            return
        shares = await self.list_shares(fid)
        if shares is None:
            raise ProviderError(
                self.alias,
                f"DELETE {path} answered 404 and folder {fid} cannot be read: no access to it, "
                f"or it is gone; {key} is not known to be removed",
                404,
                "NOT_FOUND",
            )
        if canonical_or_raw(sid) in {canonical_or_raw(str(s["shareId"])) for s in shares}:
            _, message = self.parse_error(response)
            raise ProviderError(
                self.alias, f"DELETE {path}: {message}; the share is still there", 404
            )
        if key in {_live_key(s) for s in shares}:
            raise ConflictError(
                self.alias, f"{key} was given a new share since the plan; not removed"
            )


def _wire(key: str, attrs: dict[str, Any]) -> dict[str, str]:
    """A share as requests name it (`shareWithId`, lower-case enums)."""
    share_type, _, target = key.partition(":")
    if share_type in ORG_WIDE:
        target = str(attrs.get("shared_with_id") or "")
    return {"accessType": attrs["access_type"], "shareType": share_type, "shareWithId": target}
