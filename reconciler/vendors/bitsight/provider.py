"""BitSight: the sharing options of existing folders (one PATCH replaces them whole)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from reconciler.plugin import (
    Change,
    Grant,
    GrantAccess,
    KindSpec,
    LiveObject,
    MemberListHandler,
    Problem,
    Provider,
    ProviderError,
    Resource,
    Response,
    State,
    VendorDefaults,
    json_or_none,
    notices,
    reading,
    records,
)
from reconciler.vendors.bitsight.vocab import FLAGS, ID, RATE_LIMIT_WAIT, USER_FLAGS

SHARING = "BitsightFolderSharing"
FOLDERS = "/ratings/v1/folders"
USERS = "shared_with_users"

Spellings = dict[str, str]
"""Lower-cased email -> the spelling to keep for it (the manifest's, when it lists it)."""


class FolderSharing(MemberListHandler["BitsightProvider"]):
    """The sharing options of an existing folder; folders are never created or deleted."""

    SPEC = KindSpec(SHARING, identity=("folder_guid",), members_field=USERS)

    # -- offline ----------------------------------------------------------------------

    def scope(self, spec: dict[str, Any]) -> str:
        return str(spec.get("folder_guid") or "")

    def normalise(self, spec: dict[str, Any]) -> State:
        state: State = {flag: bool(spec[flag]) for flag in FLAGS if flag in spec}
        if USERS in spec:
            state[USERS] = {self.member_key(u): _member(u) for u in spec[USERS] or []}
        return state

    def member_key(self, member: dict[str, Any]) -> str:
        return str(member.get("email") or "").lower()

    # -- guards -------------------------------------------------------------------------

    MANAGER = "folder manager (a user who can edit its properties, or the group)"
    OPEN_LEVELS = ("false", "true")
    GROUP_MANAGES = "group_can_edit_properties"
    """`managers`' key for the group: with the flag set every group user is a manager."""

    def managers(self, state: State) -> set[str] | None:
        # Only a shared folder needs someone to manage its sharing.
        if not state.get("is_shared"):
            return None
        users = state.get(USERS)
        found = {
            key
            for key, u in (users if isinstance(users, dict) else {}).items()
            if isinstance(u, dict) and u.get("can_edit_folder_properties")
        }
        if state.get("group_can_edit_properties"):
            found.add(self.GROUP_MANAGES)
        return found

    def openness(self, state: State) -> dict[str, int]:
        # Both reach every user of the group: one to see the folder, one to manage it.
        return {
            flag: int(bool(state.get(flag)))
            for flag in ("shared_with_all_users", "group_can_edit_properties")
        }

    # -- the access report ------------------------------------------------------------

    EVERYONE = "bitsight-all-users"
    """The principal of `shared_with_all_users`: every user of the BitSight account."""

    def grants(self, state: State, labels: Mapping[str, str]) -> list[Grant] | None:
        # An unshared folder reaches nobody but its owner; a state that does not say (a
        # manifest that leaves `is_shared` out, read offline) is taken as shared.
        if not state.get("is_shared", True):
            return []
        out = []
        users = state.get(USERS)
        for key, user in sorted((users if isinstance(users, dict) else {}).items()):
            if not isinstance(user, dict):
                continue
            access, detail = _level(
                user.get("can_edit_folder_contents"), user.get("can_edit_folder_properties")
            )
            email = str(user.get("email") or key)
            out.append(Grant(f"email:{key.lower()}", email, access, detail, member=key))
        opened = [flag for flag, level in sorted(self.openness(state).items()) if level]
        if opened:
            # group_can_edit_properties makes every group user a manager of the folder.
            access, detail = _level(
                state.get("group_can_edit_contents"), state.get("group_can_edit_properties")
            )
            out.append(
                Grant(
                    self.EVERYONE,
                    "every user of the BitSight account",
                    access,
                    ", ".join(filter(None, [*opened, detail])),
                    privileged=True,
                    member=self.GROUP_MANAGES if state.get(self.GROUP_MANAGES) else None,
                )
            )
        return out

    def claims(self, person: Mapping[str, Any]) -> set[str]:
        return {f"email:{str(e).lower()}" for e in person.get("emails") or []}

    # -- online -------------------------------------------------------------------------

    async def resolve(self, p: BitsightProvider, resources: list[Resource]) -> list[Problem]:
        # Only a folder's owner may change its sharing, while the list also shows folders
        # merely shared with the token's user: a declared one of those is refused here,
        # before anything is planned, rather than failing with 403 at apply.
        folders = await p.list_folders()
        p.listed = folders
        by_guid = {f["guid"]: f for f in folders}
        problems = []
        for r in resources:
            folder = by_guid.get(r.scope)
            if folder is None or _can_share(folder):
                continue
            problems.append(
                Problem(
                    r.source.file,
                    r.source.line,
                    r.source.column,
                    f"{r.address}: {_owned_by(folder)}: only the folder's owner can change its "
                    "sharing, and the BitSight token's user does not own it (manage it with "
                    "the owner's token, or remove this manifest)",
                    "not-owner",
                )
            )
        return problems

    async def read(
        self, p: BitsightProvider, resources: list[Resource], prune: bool
    ) -> list[LiveObject]:
        # One call lists every folder with its sharing options, however many are declared
        # (the list `resolve` read, when it just did).
        listed, p.listed = p.listed, None
        by_guid = {f["guid"]: f for f in (listed if listed is not None else await p.list_folders())}
        missing = [r for r in resources if r.scope not in by_guid]
        if missing:
            where = "; ".join(f"{r.scope} (declared at {r.source})" for r in missing)
            raise ProviderError(
                p.alias,
                f"BitSight folder not found: {where}. The token's account has no folder with "
                "that guid; folders are never created, only their sharing is managed",
            )
        with reading(p.alias, f"GET {FOLDERS}"):
            return [_live(by_guid[r.scope], _declared(r.desired)) for r in resources]

    async def read_one(self, p: BitsightProvider, change: Change) -> LiveObject | None:
        path = f"{FOLDERS}/{p.path_id(change.scope, 'folder_guid')}"
        folder = await p.get_object(path, refused="not a folder object")
        if folder is None:
            return None
        # The same spellings as at plan time, so an unchanged folder keeps its fingerprint.
        with reading(p.alias, f"GET {path}"):
            return _live(folder, _declared(change.desired or {}))

    async def write(self, p: BitsightProvider, change: Change, current: LiveObject | None) -> None:
        assert change.desired is not None
        # Unmanaged fields come from the pre-write read: the freshest value is the one to keep.
        base = (current or change.live or LiveObject(change.identity, {})).state
        state = {
            f: change.desired[f] if f in change.managed else base.get(f, change.desired.get(f))
            for f in (*FLAGS, USERS)
        }
        users = state[USERS] or {}
        options: dict[str, Any] = {flag: bool(state[flag]) for flag in FLAGS}
        options[USERS] = [users[key] for key in sorted(users)]
        # The whole user list in one call: grants and removals land together, nothing in between.
        # 200 with the folder or 204 without a body: the response is not needed either way.
        path = f"{FOLDERS}/{p.path_id(change.scope, 'folder_guid')}"
        await p.http.request("PATCH", path, json={"shared_options": options})

    # -- export ----------------------------------------------------------------------------

    async def scopes(self, p: BitsightProvider) -> list[str]:
        return sorted(f["guid"] for f in await p.list_folders())

    async def export(self, p: BitsightProvider, scopes: list[str]) -> list[dict[str, Any]]:
        wanted = set(scopes)
        specs: list[dict[str, Any]] = []
        for folder in sorted(await p.list_folders(), key=lambda f: str(f["guid"])):
            if folder["guid"] not in wanted:
                continue
            if not _can_share(folder):
                # A manifest for it could never be applied: listed as skipped instead.
                notices.warn(
                    *p.config.source,
                    f"{p.alias}: export skipped BitSight folder {folder['guid']}: "
                    f"{_owned_by(folder)}, and only the folder's owner can change its sharing",
                    "not-owner",
                )
                continue
            with reading(p.alias, f"GET {FOLDERS}"):
                state = _live(folder, {}).state
            spec: dict[str, Any] = {"folder_guid": folder["guid"]}
            spec.update({flag: state[flag] for flag in FLAGS})
            spec[USERS] = [state[USERS][key] for key in sorted(state[USERS])]
            specs.append(spec)
        return specs


class BitsightProvider(Provider):
    TYPE = "bitsight"
    DEFAULTS = VendorDefaults(
        base_url="https://api.bitsighttech.com",
        credential_env="BITSIGHT_API_TOKEN",
        credential_key="token_env",
        credential_prefixes=("BITSIGHT_",),
        max_concurrency=3,
        rate_limit_wait=RATE_LIMIT_WAIT,
        vendor_hosts=("api.bitsighttech.com",),
    )
    ID_FORMAT = ID
    HANDLERS = (FolderSharing(),)

    listed: list[dict[str, Any]] | None = None
    """The folder list `resolve` read, for the `read` that follows it in the same plan."""

    def auth_headers(self, credential: str) -> dict[str, str]:
        # HTTP Basic with the token as user name and an empty password.
        token = base64.b64encode(f"{credential}:".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def parse_error(self, response: Response) -> tuple[str | None, str]:
        body = json_or_none(response)
        if isinstance(body, dict) and body.get("detail"):
            return None, str(body["detail"])
        return None, f"HTTP {response.status_code}"

    # -- calls -----------------------------------------------------------------------------

    async def list_folders(self) -> list[dict[str, Any]]:
        body = json_or_none(await self.http.request("GET", FOLDERS))
        if not isinstance(body, list):
            raise ProviderError(self.alias, f"GET {FOLDERS}: expected a JSON array of folders")
        folders = [f for f in body if isinstance(f, dict) and f.get("guid")]
        return records(self.alias, f"GET {FOLDERS}", folders, "folders", guid=str)


def _can_share(folder: dict[str, Any]) -> bool:
    """Whether the token's user may change the folder's sharing (BitSight's
    `user_can_share`; an answer without it is taken as yes, and apply would meet the 403)."""
    options = folder.get("shared_options")
    return not isinstance(options, dict) or options.get("user_can_share") is not False


def _owned_by(folder: dict[str, Any]) -> str:
    name = str(folder.get("name") or "")
    what = f"folder {name!r}" if name else "the folder"
    return f"{what} is owned by {folder.get('owner') or 'another user'}"


def _level(contents: Any, properties: Any) -> tuple[GrantAccess, str]:
    """Folder properties is manage, contents edit, else view (docs/access.md), and the rights."""
    if properties:
        return "manage", "properties" + (", contents" if contents else "")
    if contents:
        return "edit", "contents"
    return "view", ""


def _member(user: dict[str, Any]) -> dict[str, Any]:
    """One user as the state holds it: its email spelling and both rights (missing = false)."""
    return {"email": str(user["email"]), **{f: bool(user.get(f, False)) for f in USER_FLAGS}}


def _declared(state: State) -> Spellings:
    return {key: m["email"] for key, m in (state.get(USERS) or {}).items()}


def _live(folder: dict[str, Any], spellings: Spellings) -> LiveObject:
    """A folder's live state. Emails compare case-insensitively, so a user the manifest lists
    takes the manifest's spelling: case alone is never a change, and the PATCH sends an email
    as the manifest wrote it (a user kept but not listed keeps its live spelling)."""
    options = folder.get("shared_options") or {}
    users = options.get("shared_with", options.get(USERS)) or []
    members: dict[str, Any] = {}
    for user in users:
        key = str(user["email"]).lower()
        members[key] = _member({**user, "email": spellings.get(key, user["email"])})
    state: State = {flag: bool(options.get(flag, False)) for flag in FLAGS}
    state[USERS] = members
    guid = str(folder["guid"])
    return LiveObject((guid,), state, scope=guid, title=str(folder.get("name") or ""))
