"""Golem writes: the create body (and the target's email it may need), create, update, delete."""

from __future__ import annotations

import asyncio
from typing import Any

from reconciler.plugin import (
    AuthError,
    Change,
    ConflictError,
    LiveObject,
    ProviderError,
    ProviderStopped,
    UnclearOutcome,
)
from reconciler.vendors.golem.reads import GolemReads, _data

EXISTS = "PERMISSION_SHARE_ALREADY_EXISTS"
EMAIL = "target_account_email"
"""Sent on create in the email form; never compared with live state (the API answers only
`targetAccountId`): mirrored onto the live share it belongs to so the diff never sees it."""
CREATE_FORMS = {"email": "targetAccountEmail", "id": "targetAccountId"}
"""`create_target_by` -> the body field naming the target on create."""


class GolemWrites(GolemReads):
    """The Golem calls that write shares: create, and update or delete at the plan's revision."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.emails: dict[str, str | ProviderError] = {}
        """Target account id -> its email, or why it could not be read: once per run."""
        self._reading_email: dict[str, asyncio.Task[str | ProviderError]] = {}

    @property
    def create_form(self) -> str:
        """`create_target_by`: how a create names its target (email, the current API; id)."""
        return str(self.option("create_target_by") or "email")

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
