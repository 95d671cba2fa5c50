"""Salesforce: the shares of report and dashboard folders, reconciled share by share."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from typing import Any, cast

from reconciler.plugin import (
    NOTE,
    Change,
    Grant,
    GrantAccess,
    KindSpec,
    LiveObject,
    MemberListHandler,
    ProviderConfig,
    ProviderError,
    ProviderStopped,
    Resource,
    Response,
    State,
    VendorDefaults,
    json_or_none,
    option,
)
from reconciler.vendors.salesforce.ids import canonical, canonical_or_raw
from reconciler.vendors.salesforce.reads import _live_key
from reconciler.vendors.salesforce.vocab import ACCESS_TYPES, ID, ORG_WIDE
from reconciler.vendors.salesforce.writes import SalesforceWrites, _wire

log = logging.getLogger(__name__)

SHARES = "SalesforceFolderShares"
QUOTA = "REQUEST_LIMIT_EXCEEDED"


class FolderShares(MemberListHandler["SalesforceProvider"]):
    """The shares of an existing report or dashboard folder, reconciled share by share."""

    SPEC = KindSpec(SHARES, identity=("folder_id",), members_field="shares")

    # -- offline ----------------------------------------------------------------------

    def identity(self, spec: dict[str, Any]) -> tuple[str, ...]:
        return (canonical_or_raw(str(spec.get("folder_id") or "")),)

    def scope(self, spec: dict[str, Any]) -> str:
        return self.identity(spec)[0]

    def normalise(self, spec: dict[str, Any]) -> State:
        shares: dict[str, Any] = {}
        for share in spec["shares"]:
            key = self.member_key(share)
            attrs = {"access_type": str(share["access_type"]).lower()}
            # An org-wide share's recipient is managed only when the manifest names it: it is
            # then sent on the wire as given (normalised), and compared with the live one.
            if key in ORG_WIDE and share.get("shared_with_id"):
                attrs["shared_with_id"] = canonical_or_raw(str(share["shared_with_id"]))
            shares[key] = attrs
        return {"shares": shares}

    def member_key(self, member: dict[str, Any]) -> str:
        share_type = str(member.get("share_type") or "").lower()
        if share_type in ORG_WIDE:
            return share_type
        return f"{share_type}:{canonical_or_raw(str(member.get('shared_with_id') or ''))}"

    # -- guards -------------------------------------------------------------------------

    MANAGER = "manage share"
    OPEN_LEVELS = ("absent", *ACCESS_TYPES)

    def managers(self, state: State) -> set[str] | None:
        shares = state.get("shares")
        if not isinstance(shares, dict):
            return set()
        return {k for k, a in shares.items() if _access(a) == "manage"}

    def openness(self, state: State) -> dict[str, int]:
        shares = state.get("shares")
        shares = shares if isinstance(shares, dict) else {}
        levels: dict[str, int] = {}
        for share_type in ORG_WIDE:
            access = _access(shares[share_type]) if share_type in shares else None
            rank = ACCESS_TYPES.index(access) + 1 if access in ACCESS_TYPES else 0
            if share_type in shares and not rank:
                rank = 1  # an org-wide share of an unknown access opens the folder all the same
            levels[f"{share_type} share"] = rank
        return levels

    # -- the access report ------------------------------------------------------------

    def grants(self, state: State, labels: Mapping[str, str]) -> list[Grant] | None:
        shares = state.get("shares")
        open_to = {a for a, level in self.openness(state).items() if level}
        out = []
        for key, attrs in sorted((shares if isinstance(shares, dict) else {}).items()):
            access = _access(attrs)
            if access not in ACCESS_TYPES:
                continue
            share_type, _, who = key.partition(":")
            principal = f"salesforce-{share_type}" + (f":{who}" if who else "")
            out.append(
                Grant(
                    principal,
                    labels.get(key) or (who or share_type),
                    cast(GrantAccess, access),
                    share_type,
                    privileged=f"{key} share" in open_to,
                    member=key,
                )
            )
        return out

    def claims(self, person: Mapping[str, Any]) -> set[str]:
        return {
            f"salesforce-user:{canonical_or_raw(str(u))}"
            for u in person.get("salesforce_users") or []
        }

    def check(
        self, spec: dict[str, Any], path: tuple[Any, ...]
    ) -> list[tuple[tuple[Any, ...], str]]:
        problems: list[tuple[tuple[Any, ...], str]] = []
        if not _valid_id(str(spec.get("folder_id") or "")):
            problems.append(
                (
                    ("folder_id",),
                    f"folder_id {spec.get('folder_id')!r} is not a Salesforce id "
                    "(15 or 18 letters and digits)",
                )
            )
        for i, share in enumerate(spec.get("shares") or []):
            share_type = str(share.get("share_type") or "").lower()
            target = share.get("shared_with_id")
            if share_type not in ORG_WIDE and not target:
                problems.append(
                    (
                        ("shares", i),
                        f"shares[{i}]: share_type {share_type} needs shared_with_id (only "
                        f"{', '.join(ORG_WIDE)} go without one)",
                    )
                )
            elif target and not _valid_id(str(target)):
                problems.append(
                    (
                        ("shares", i, "shared_with_id"),
                        f"shares[{i}].shared_with_id {target!r} is not a valid Salesforce id",
                    )
                )
        return problems

    # -- online -------------------------------------------------------------------------

    async def read(
        self, p: SalesforceProvider, resources: list[Resource], prune: bool
    ) -> list[LiveObject]:
        listed = await asyncio.gather(*(p.list_shares(r.identity[0]) for r in resources))
        missing = [r for r, shares in zip(resources, listed, strict=True) if shares is None]
        if missing:
            raise ProviderError(
                p.alias,
                "; ".join(
                    f"folder {r.identity[0]} ({r.source}) was not found, or this user has no "
                    f"access to it: GET /folders/{r.identity[0]}/shares answered 404"
                    for r in missing
                ),
                404,
                "NOT_FOUND",
            )
        return [
            p.live_object(r.identity[0], shares, r.desired.get("shares") or {})
            for r, shares in zip(resources, listed, strict=True)
            if shares is not None
        ]

    async def read_one(self, p: SalesforceProvider, change: Change) -> LiveObject | None:
        fid = change.identity[0]
        shares = await p.list_shares(fid)
        if shares is None:
            raise ProviderError(
                p.alias, f"folder {fid} is gone, or this user lost access to it", 404
            )
        return p.live_object(fid, shares, (change.desired or {}).get("shares") or {})

    async def write(
        self, p: SalesforceProvider, change: Change, current: LiveObject | None
    ) -> None:
        fid = change.identity[0]
        live = current or change.live
        if live is None:
            raise ProviderError(p.alias, f"folder {fid} does not exist (folders are not created)")
        adds = [m for m in change.members if m.action == "add"]
        # The share ids come from the pre-write read, which matched the plan's fingerprint;
        # each is checked before the first write, so a bad one stops the folder untouched.
        folder = p.path_id(fid, "folder_id")
        sids = {
            m.key: p.path_id(live.handle[m.key], "share id")
            for m in change.members
            if m.action in ("change", "remove")
        }
        if adds:
            await p.post_shares(fid, adds)
        for m in change.members:
            if m.action == "change":
                await p.http.request(
                    "PATCH", f"/folders/{folder}/shares/{sids[m.key]}", json=_wire(m.key, m.after)
                )
        for m in change.members:
            if m.action == "remove":
                await p.delete_share(fid, m.key, live.handle[m.key])

    # -- export ----------------------------------------------------------------------------

    async def scopes(self, p: SalesforceProvider) -> list[str]:
        return sorted(await p.folders())

    async def read_report(
        self, p: SalesforceProvider, resources: list[Resource], live: list[LiveObject], whole: bool
    ) -> list[LiveObject]:
        # The folders' names (`GET /folders`: label, else name), which the shares do not carry.
        names = await p.folders() if live else {}
        return [dataclasses.replace(o, title=names.get(o.identity[0], "")) for o in live]

    async def export(self, p: SalesforceProvider, scopes: list[str]) -> list[dict[str, Any]]:
        folders = sorted({canonical_or_raw(s) for s in scopes})
        listed = await asyncio.gather(*(p.list_shares(f) for f in folders))
        specs: list[dict[str, Any]] = []
        for fid, shares in zip(folders, listed, strict=True):
            if shares is None:
                log.warning("folder %s: shares not readable (404), not exported", fid)
                continue
            items = [_spec_share(s) for s in sorted(shares, key=_live_key)]
            if items:
                specs.append({"folder_id": fid, "shares": items})
        return specs


class SalesforceProvider(SalesforceWrites):
    TYPE = "salesforce"
    DEFAULTS = VendorDefaults(
        base_url="",
        credential_env="SALESFORCE_ACCESS_TOKEN",
        credential_key="token_env",
        credential_prefixes=("SALESFORCE_", "SF_"),
        # No vendor host: an org host is trusted only from the operator's environment.
        vendor_hosts=(),
        required_base_url_env="RECONCILER_SALESFORCE_BASE_URL",
        options={"api_version": "v60.0"},
    )
    ID_FORMAT = ID
    HANDLERS = (FolderShares(),)

    @classmethod
    def api_base(cls, config: ProviderConfig) -> str:
        version = option(config, cls.DEFAULTS, "api_version")
        return f"{config.base_url.rstrip('/')}/services/data/{version}"

    def auth_headers(self, credential: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential}"}

    def parse_error(self, response: Response) -> tuple[str | None, str]:
        body = json_or_none(response)
        items = body if isinstance(body, list) else [body]
        errors = [
            e for e in items if isinstance(e, dict) and (e.get("errorCode") or e.get("message"))
        ]
        if not errors:
            return None, f"HTTP {response.status_code}"
        code = errors[0].get("errorCode")
        message = "; ".join(str(e.get("message") or e.get("errorCode")) for e in errors)
        return (str(code) if code else None), message

    def fatal(self, response: Response) -> ProviderError | None:
        """The org's quota error stops this provider for the rest of the run (not retried)."""
        if response.status_code != 403:
            return None
        code, message = self.parse_error(response)
        if code != QUOTA:
            return None
        path = response.url.partition("?")[0].removeprefix(self.http.base_url)
        return ProviderStopped(
            self.alias,
            f"the Salesforce org's API request limit is used up "
            f"({response.method} {path}: {message}); "
            "no further calls are made to this provider in this run",
            403,
            QUOTA,
        )


def _valid_id(value: str) -> bool:
    try:
        canonical(value)
    except ValueError:
        return False
    return True


def _spec_share(share: dict[str, Any]) -> dict[str, str]:
    share_type = str(share.get("shareType") or "").lower()
    item = {"share_type": share_type}
    target = str(share.get("sharedWithId") or "")
    if share_type not in ORG_WIDE or _valid_id(target):
        item["shared_with_id"] = canonical_or_raw(target)
        # The recipient's label as a comment beside its id (NOTE, plugin/handlers.py).
        label = share.get("sharedWithLabel")
        if isinstance(label, str) and label and label != target:
            item[NOTE + "shared_with_id"] = label
    item["access_type"] = str(share.get("accessType") or "").lower()
    return item


def _access(attrs: Any) -> str | None:
    """A share's access type as guards read it (a hand-edited plan may hold anything)."""
    value = attrs.get("access_type") if isinstance(attrs, dict) else None
    return value.lower() if isinstance(value, str) else None
