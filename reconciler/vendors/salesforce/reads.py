"""Salesforce reads: the folder list (paged), a folder's shares, and them as a live object."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from reconciler.plugin import (
    LiveObject,
    Provider,
    ProviderError,
    json_or_none,
    records,
)
from reconciler.vendors.salesforce.ids import canonical_or_raw
from reconciler.vendors.salesforce.vocab import ORG_WIDE

MAX_PAGES = 10_000


class SalesforceReads(Provider):
    """The Salesforce calls that read folders and shares; `SalesforceWrites` builds on them."""

    def instance_url(self, link: str) -> str:
        """A link from an answer as an absolute URL: a path from the instance root (the
        documented form) keeps the instance's own path prefix; anything else is resolved
        like a browser would. `Http` then refuses it unless it stays on the API."""
        instance = self.config.base_url.rstrip("/")
        if link.startswith("/") and not link.startswith("//"):
            return instance + link
        return urljoin(instance + "/", link)

    async def get_json(self, path: str, params: dict[str, str] | None) -> dict[str, Any]:
        body = json_or_none(await self.http.request("GET", path, params=params))
        if not isinstance(body, dict):
            raise ProviderError(self.alias, f"GET {path}: response is not a JSON object")
        return body

    async def folders(self) -> dict[str, str]:
        """Every folder: id -> its label (else its name), read page by page until
        `totalSize` folders are read."""
        ids: dict[str, str] = {}
        read = 0
        url, params = "/folders", None
        for page in range(2, MAX_PAGES):
            body = await self.get_json(url, params)
            folders = [f for f in body.get("folders") or [] if isinstance(f, dict) and f.get("id")]
            for f in folders:
                ids[canonical_or_raw(str(f["id"]))] = str(f.get("label") or f.get("name") or "")
            read += len(folders)
            if not folders or read >= int(body.get("totalSize") or 0):
                break
            next_url = body.get("nextPageUrl")
            if next_url:
                # Relative to the instance URL; Http refuses it unless it stays on the API.
                url, params = self.instance_url(str(next_url)), None
            else:
                url, params = "/folders", {"page": str(page)}
        return ids

    async def list_shares(self, fid: str) -> list[dict[str, Any]] | None:
        """The folder's shares; None when it answers 404 (unknown folder or no access)."""
        path = f"/folders/{self.path_id(fid, 'folder_id')}/shares"
        body = await self.get_object(path, refused="response has no shares list")
        if body is None:
            return None
        shares = body.get("shares")
        if not isinstance(shares, list):
            raise ProviderError(self.alias, f"GET {path}: response has no shares list")
        shares = [s for s in shares if isinstance(s, dict) and s.get("shareId")]
        return records(self.alias, f"GET {path}", shares, "shares", shareId=str)

    def live_object(
        self, fid: str, shares: list[dict[str, Any]], desired: dict[str, Any]
    ) -> LiveObject:
        state: dict[str, Any] = {}
        handle: dict[str, Any] = {}
        labels: dict[str, str] = {}
        for share in shares:
            key = _live_key(share)
            attrs = {"access_type": str(share.get("accessType") or "").lower()}
            if key in ORG_WIDE and "shared_with_id" in (desired.get(key) or {}):
                attrs["shared_with_id"] = canonical_or_raw(str(share.get("sharedWithId") or ""))
            state[key] = attrs
            handle[key] = str(share["shareId"])
            label = str(share.get("sharedWithLabel") or "")
            if label and label != share.get("sharedWithId"):
                labels[key] = label
        return LiveObject((fid,), {"shares": state}, handle, scope=fid, labels=labels)


def _live_key(share: dict[str, Any]) -> str:
    share_type = str(share.get("shareType") or "").lower()
    if share_type in ORG_WIDE:
        return share_type
    return f"{share_type}:{canonical_or_raw(str(share.get('sharedWithId') or ''))}"
