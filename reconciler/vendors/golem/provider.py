"""Golem Cloud: permission shares, written with the revision the plan read."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from reconciler.plugin import (
    Action,
    AuthError,
    Change,
    ConflictError,
    Grant,
    KindHandler,
    KindSpec,
    LiveObject,
    Provider,
    ProviderError,
    ProviderStopped,
    ReconcilerError,
    Resource,
    Response,
    State,
    UnclearOutcome,
    VendorDefaults,
    json_or_none,
    kind_of,
    lapsed,
    notices,
    path_text,
    reading,
)
from reconciler.vendors.golem.vocab import DATA_KEYS, ID

SHARE = "GolemPermissionShare"
EXISTS = "PERMISSION_SHARE_ALREADY_EXISTS"
EMAIL = "target_account_email"
"""Sent on create in the email form; never compared with live state (the API answers only
`targetAccountId`): mirrored onto the live share it belongs to so the diff never sees it."""
CREATE_FORMS = {"email": "targetAccountEmail", "id": "targetAccountId"}
"""`create_target_by` -> the body field naming the target on create."""


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


class GolemProvider(Provider):
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.emails: dict[str, str | ProviderError] = {}
        """Target account id -> its email, or why it could not be read: once per run."""
        self._reading_email: dict[str, asyncio.Task[str | ProviderError]] = {}

    @property
    def create_form(self) -> str:
        """`create_target_by`: how a create names its target (email, the current API; id)."""
        return str(self.option("create_target_by") or "email")

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

    # -- writes ----------------------------------------------------------------------------

    async def create_body(self, change: Change) -> dict[str, Any]:
        """The whole create body, in the form `create_target_by` names; raises (before any
        write) when the email form needs an email that cannot be had."""
        assert change.desired is not None
        target = str(change.desired["target_account_id"])
        if self.create_form == "id":
            named: str = target
        else:
            named = str(change.desired.get(EMAIL) or await self.email_of(target))
        field = CREATE_FORMS[self.create_form]
        return {field: named, "name": change.identity[1], "data": self._body_data(change)}

    async def email_of(self, target: str, strict: bool = True) -> str | ProviderError:
        """The email of account `target` (`GET /v1/accounts/{id}`), read once per run; with
        `strict`, raises the reason it cannot be read, else returns it."""
        if target not in self.emails:
            task = self._reading_email.get(target)
            if task is None or task.get_loop() is not asyncio.get_running_loop():
                task = asyncio.ensure_future(self._read_email(target))
                self._reading_email[target] = task
            self.emails[target] = await task
            self._reading_email.pop(target, None)
        found = self.emails[target]
        if isinstance(found, ProviderError) and strict:
            raise found
        return found

    async def _read_email(self, target: str) -> str | ProviderError:
        path = f"/v1/accounts/{self.path_id(target, 'target_account_id')}"
        why = (
            f"the email of target account {target} is needed to create the share "
            "(create_target_by: email) and {reason}: give target_account_email in the "
            "manifest, or use a token with permission to read that account"
        )
        try:
            account = await self.get_object(path, refused="response is not an account")
        except (AuthError, ProviderStopped):
            raise
        except ProviderError as exc:
            reason = f"GET {path} failed ({exc.detail})"
            return ProviderError(self.alias, why.format(reason=reason), exc.status, exc.code)
        if account is None:
            reason = f"GET {path} answered 404: the token cannot see that account"
            return ProviderError(self.alias, why.format(reason=reason), 404, "ACCOUNT_NOT_FOUND")
        email = account.get("email")
        if not isinstance(email, str) or not email:
            reason = f"GET {path} gave no email"
            return ProviderError(self.alias, why.format(reason=reason))
        return email

    async def create_share(self, change: Change, body: dict[str, Any] | None = None) -> None:
        """POST a share; after an unclear answer, look by name before trying again."""
        assert change.desired is not None
        owner, name = change.scope, change.identity[1]
        want = self._body_data(change)
        if body is None:
            body = await self.create_body(change)
        path = f"/v1/accounts/{self.path_id(owner, 'owner_account_id')}/permission-shares"

        def ours(error: ProviderError) -> bool:
            return error.status == 409 and error.code == EXISTS

        try:
            result = await self.http.create_once(
                lambda: self.http.request("POST", path, json=body),
                lambda: self.share_by_name(owner, name),
                duplicate=ours,
                what=f"POST {path} for {name!r}",
            )
        except ProviderError as exc:
            hint = self._form_hint(exc)
            if hint:
                raise type(exc)(self.alias, hint, exc.status, exc.code) from None
            if not ours(exc):
                raise
            # Already there before any unclear try: someone else made it since the plan.
            raise ConflictError(
                self.alias,
                f"a share named {name!r} was created in account {owner} since the plan; "
                "not written (run plan again)",
                409,
                exc.code,
            ) from None
        if isinstance(result, LiveObject):
            # Our unclear try landed: check it is the share we meant.
            self._check_created(change, result, want)

    def _form_hint(self, exc: ProviderError) -> str | None:
        """A 400 naming the other form's field: the server takes the other create form."""
        other = next(f for f in CREATE_FORMS if f != self.create_form)
        if exc.status != 400 or CREATE_FORMS[other] not in exc.detail:
            return None
        return (
            f"{exc.detail}: this server takes the {other} form of create; "
            f"set create_target_by: {other} on provider {self.alias}"
        )

    def _check_created(self, change: Change, found: LiveObject, want: dict[str, list[str]]) -> None:
        assert change.desired is not None
        target = change.desired["target_account_id"]
        if found.state["target_account_id"] != target or found.state["data"] != want:
            raise ConflictError(
                self.alias,
                f"a different share named {change.identity[1]!r} exists in account "
                f"{change.scope}; not written (run plan again)",
            )

    async def update_share(self, change: Change) -> None:
        assert change.desired is not None and change.live is not None
        sid, revision = change.live.handle["id"], change.revision
        assert revision is not None
        want = self._body_data(change)
        body = {"currentRevision": revision, "name": change.identity[1], "data": want}
        path = f"/v1/permission-shares/{self.path_id(sid, 'share id')}"
        try:
            response = await self.http.request("PATCH", path, json=body, accept=(404, 409))
        except UnclearOutcome as exc:
            unclear: UnclearOutcome | None = exc
        else:
            unclear = None
            if response.status_code == 404:
                raise ConflictError(self.alias, "it no longer exists; not written", 404)
            if response.status_code != 409:
                return
        # A 409 may answer a retry of our own PATCH whose first answer was lost: look.
        now = await self.share_by_id(change.scope, sid)
        if (
            now is not None
            and now.revision == revision + 1
            and now.identity == change.identity
            and now.state["data"] == want
        ):
            return
        if unclear is not None and now is not None and now.revision == revision:
            raise unclear  # untouched: it simply failed
        raise self._moved(revision, now)

    async def delete_share(self, change: Change) -> None:
        assert change.live is not None
        sid, revision = change.live.handle["id"], change.revision
        assert revision is not None
        path = f"/v1/permission-shares/{self.path_id(sid, 'share id')}"
        params = {"current_revision": str(revision)}
        try:
            response = await self.http.request("DELETE", path, params=params, accept=(404, 409))
        except UnclearOutcome as exc:
            unclear: UnclearOutcome | None = exc
        else:
            unclear = None
            if response.status_code != 409:
                return  # 404: already gone
        now = await self.share_by_id(change.scope, sid)
        if now is None:
            return
        if unclear is not None and now.revision == revision:
            raise unclear
        raise self._moved(revision, now)

    def _moved(self, revision: int, now: LiveObject | None) -> ConflictError:
        if now is None:
            return ConflictError(self.alias, "it was deleted since the plan; not written", 409)
        return ConflictError(
            self.alias,
            f"changed since the plan (revision {revision}, now {now.revision}); "
            "not written (run plan again)",
            409,
            "CONCURRENT_UPDATE",
        )

    @staticmethod
    def _body_data(change: Change) -> dict[str, list[str]]:
        """All four lists, always: the API requires each of them."""
        assert change.desired is not None
        return _data(change.desired.get("data") or {})

    # -- reads ------------------------------------------------------------------------------

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


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _revision(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"revision is {kind_of(value)}, expected an integer")
    return value
