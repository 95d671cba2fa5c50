"""Privilege guards (SPEC §5.1): each rule and each vendor's semantics on model values, then
plan and both forms of apply on the sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.core.model import Action, Change, Finding, LiveObject, MemberChange, State
from reconciler.core.settings import GuardSettings
from reconciler.governance import guards
from reconciler.plans import planfile
from reconciler.sandbox import Sandbox
from reconciler.vendors.klipfolio.vocab import ADMIN_PERMISSIONS, PERMISSIONS
from tests.support.harness import Ran, Workspace

DEFAULT = GuardSettings()
RIGHTS = "KlipfolioClientShareRights"
ROLE = "KlipfolioRole"
FOLDER = "BitsightFolderSharing"
SHARES = "SalesforceFolderShares"


def rules(
    kind: str, before: State | None, after: State | None, s: GuardSettings = DEFAULT
) -> list[str]:
    return [f.rule for f in guards.check(kind, before, after, s)]


def groups(**can_manage: bool) -> State:
    return {"groups": {g: {"can_manage": m} for g, m in can_manage.items()}}


def folder(shared: bool = True, everyone: bool = False, **props: bool) -> State:
    users = {
        f"{u}@acme.com": {
            "email": f"{u}@acme.com",
            "can_edit_folder_contents": True,
            "can_edit_folder_properties": p,
        }
        for u, p in props.items()
    }
    return {
        "is_shared": shared,
        "group_can_edit_contents": False,
        "shared_with_all_users": everyone,
        "shared_with_users": users,
    }


def shares(**access: str) -> State:
    return {"shares": {k.replace("_", ":"): {"access_type": a} for k, a in access.items()}}


# -- last-manager --------------------------------------------------------------------------


def test_klipfolio_client_left_without_a_can_manage_group_trips() -> None:
    assert rules(RIGHTS, groups(a=True, b=False), groups(b=False)) == ["last-manager"]
    assert rules(RIGHTS, groups(a=True, b=False), groups(a=False, b=False)) == ["last-manager"]


def test_klipfolio_client_keeping_or_never_having_a_manager_does_not_trip() -> None:
    assert rules(RIGHTS, groups(a=True, b=False), groups(b=True)) == []
    assert rules(RIGHTS, groups(a=False), groups(b=False)) == []


def test_last_manager_message_names_the_managers_removed() -> None:
    found = guards.check(RIGHTS, groups(a=True, c=True), groups(), DEFAULT, {"a": "Finance"})
    assert found == [
        Finding("last-manager", "leaves no can_manage group (removes the last: a (Finance), c)")
    ]


def test_bitsight_shared_folder_left_without_a_property_editor_trips() -> None:
    before, after = folder(alice=True, bob=False), folder(bob=False)
    assert rules(FOLDER, before, after) == ["last-manager"]
    assert rules(FOLDER, before, folder(alice=False, bob=False)) == ["last-manager"]


def test_bitsight_folder_unshared_or_never_managed_does_not_trip() -> None:
    assert rules(FOLDER, folder(alice=True), folder(shared=False)) == []
    assert rules(FOLDER, folder(shared=False, alice=True), folder(shared=False)) == []
    assert rules(FOLDER, folder(alice=False), folder()) == []
    assert rules(FOLDER, folder(alice=True), folder(bob=True)) == []


def test_salesforce_folder_left_without_a_manage_share_trips() -> None:
    before = shares(user_005A="manage", group_00G1="view")
    assert rules(SHARES, before, shares(group_00G1="view")) == ["last-manager"]
    assert rules(SHARES, before, shares(user_005A="edit", group_00G1="view")) == ["last-manager"]
    assert rules(SHARES, before, shares(group_00G1="manage")) == []


# -- everyone ------------------------------------------------------------------------------


def test_bitsight_all_users_sharing_turned_on_trips() -> None:
    assert rules(FOLDER, folder(everyone=False), folder(everyone=True)) == ["everyone"]
    message = guards.check(FOLDER, folder(), folder(everyone=True), DEFAULT)[0].message
    assert message == "opens it to everyone: shared_with_all_users false -> true"


def test_bitsight_all_users_sharing_kept_or_turned_off_does_not_trip() -> None:
    assert rules(FOLDER, folder(everyone=True), folder(everyone=True)) == []
    assert rules(FOLDER, folder(everyone=True), folder(everyone=False)) == []


@pytest.mark.parametrize("share_type", ["organization", "allprmusers", "allcspusers"])
def test_salesforce_org_wide_share_added_or_raised_trips(share_type: str) -> None:
    none = shares()
    view = {"shares": {share_type: {"access_type": "view"}}}
    edit = {"shares": {share_type: {"access_type": "edit"}}}
    assert rules(SHARES, none, view) == ["everyone"]
    assert rules(SHARES, view, edit) == ["everyone"]
    assert rules(SHARES, edit, view) == []
    assert rules(SHARES, view, view) == []
    found = guards.check(SHARES, view, edit, DEFAULT)[0]
    assert found.message == f"opens it to everyone: {share_type} share view -> edit"


def test_salesforce_share_with_one_user_or_group_is_not_everyone() -> None:
    assert rules(SHARES, shares(), shares(user_005A="edit", group_00G1="view")) == []


def test_kinds_without_an_audience_never_trip_everyone() -> None:
    data = {"lowerPositive": ["application(a@b.c/x) @ d@e.f : view :"]}
    assert rules("GolemPermissionShare", None, {"target_account_id": "x", "data": data}) == []


# -- admin-permission ----------------------------------------------------------------------


def test_default_admin_list_is_every_admin_and_account_permission_plus_two() -> None:
    expected = {p for p in PERMISSIONS if p.split(".")[0] in ("admin", "account")}
    assert expected <= ADMIN_PERMISSIONS
    assert ADMIN_PERMISSIONS - expected == {"user.manage", "client.delete"}
    assert "klip.edit" not in ADMIN_PERMISSIONS


def test_role_created_or_updated_with_an_admin_permission_trips() -> None:
    assert rules(ROLE, None, {"permissions": ["admin.klip", "klip.edit"]}) == ["admin-permission"]
    before = {"description": "", "permissions": ["klip.edit"]}
    after = {"description": "", "permissions": ["klip.edit", "user.manage"]}
    assert rules(ROLE, before, after) == ["admin-permission"]
    found = guards.check(ROLE, before, after, DEFAULT)[0]
    assert found.message == "gives admin-level permission user.manage"


def test_role_keeping_or_losing_admin_permissions_does_not_trip() -> None:
    before = {"permissions": ["admin.klip", "klip.edit"]}
    assert rules(ROLE, before, {"permissions": ["admin.klip", "klip.edit", "tab.edit"]}) == []
    assert rules(ROLE, before, {"permissions": ["klip.edit"]}) == []
    assert rules(ROLE, None, {"permissions": ["klip.edit"]}) == []


def test_custom_admin_list_replaces_the_default() -> None:
    custom = GuardSettings(admin_permissions=frozenset({"klip.share"}))
    assert rules(ROLE, None, {"permissions": ["klip.share"]}, custom) == ["admin-permission"]
    assert rules(ROLE, None, {"permissions": ["admin.klip"]}, custom) == []


# -- mass-grant ----------------------------------------------------------------------------


def many(n: int) -> State:
    return {"groups": {f"{i:032x}": {"can_manage": False} for i in range(n)}}


def test_mass_grant_trips_past_max_new_members_only() -> None:
    assert rules(RIGHTS, {"groups": {}}, many(25)) == []
    assert rules(RIGHTS, {"groups": {}}, many(26)) == ["mass-grant"]
    # Members already there are not new.
    assert rules(RIGHTS, many(10), many(35)) == []
    assert rules(RIGHTS, many(10), many(36)) == ["mass-grant"]
    found = guards.check(RIGHTS, {"groups": {}}, many(26), DEFAULT)[0]
    assert found.message == "adds 26 members, more than max_new_members 25"


def test_max_new_members_setting_moves_the_boundary() -> None:
    three = GuardSettings(max_new_members=3)
    assert rules(RIGHTS, {"groups": {}}, many(3), three) == []
    assert rules(RIGHTS, {"groups": {}}, many(4), three) == ["mass-grant"]


def test_plain_objects_never_trip_mass_grant() -> None:
    perms = {"permissions": [p for p in PERMISSIONS if not p.startswith(("admin", "account"))]}
    assert (
        rules(ROLE, None, perms, GuardSettings(max_new_members=1, disabled=("admin-permission",)))
        == []
    )


# -- settings, allows, changes -------------------------------------------------------------


def test_disabled_rules_do_not_run() -> None:
    off = GuardSettings(disabled=("last-manager", "everyone"))
    before, after = folder(alice=True), folder(everyone=True)
    assert rules(FOLDER, before, after) == ["last-manager", "everyone"]
    assert rules(FOLDER, before, after, off) == []


def test_deletes_trip_nothing() -> None:
    assert rules(ROLE, {"permissions": ["admin.klip"]}, None) == []


def _rights_change(before: State, after: State, members: list[MemberChange]) -> Change:
    live = LiveObject(("c" * 32,), before, scope="c" * 32)
    return Change(
        Action.UPDATE, RIGHTS, "klipfolio", ("c" * 32,), after, live, ["groups"], members=members
    )


def test_findings_are_marked_allowed_by_the_documents_allow() -> None:
    change = _rights_change(groups(a=True), groups(a=False), [])
    assert [f.allowed for f in guards.findings(change, DEFAULT)] == [False]
    change.allows = {"last-manager": "Support takes over", "everyone": "unrelated"}
    [found] = guards.findings(change, DEFAULT)
    assert found.allowed and found.reason == "Support takes over"
    assert found.as_dict() == {
        "rule": "last-manager",
        "message": found.message,
        "allowed": True,
        "reason": "Support takes over",
    }


def test_member_list_is_checked_even_when_the_desired_state_hides_it() -> None:
    # A hand-edited plan whose desired state keeps the manager but whose member list (what
    # the Klipfolio write sends) removes it still trips.
    remove = MemberChange("remove", "a", {"can_manage": True}, None)
    change = _rights_change(groups(a=True, b=False), groups(a=True, b=False), [remove])
    assert [f.rule for f in guards.findings(change, DEFAULT)] == ["last-manager"]


def test_malformed_states_are_refused_not_crashed() -> None:
    assert rules(FOLDER, folder(alice=True), {"is_shared": True, "shared_with_users": [1]}) == [
        "last-manager"
    ]


# -- end to end on the sandbox ---------------------------------------------------------------

CLIENT = "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c"
FINANCE = "1a2b3c4d5e6f4a7b8c9d0e1f2a3b4c5d"
SUPPORT = "4d5e6f7a8b9c4d0e1f2a3b4c5d6e7f8a"
ADDRESS = f"klipfolio/{RIGHTS}/{CLIENT}"


def _rights(allow: str = "") -> str:
    metadata = f"metadata:\n  allow:\n    last-manager: {allow}\n" if allow else ""
    return (
        f"apiVersion: reconciler/v1\nkind: {RIGHTS}\n{metadata}spec:\n"
        f"  client_id: {CLIENT}\n  groups:\n    - {{group_id: {FINANCE}, can_manage: false}}\n"
    )


@pytest.fixture
def client(sandbox: Sandbox, ws: Workspace) -> Sandbox:
    """A client managed by Support only; the manifest keeps Finance, who cannot manage it."""
    sandbox.state["klipfolio"] = {
        "groups": [
            {"id": FINANCE, "name": "Finance", "description": ""},
            {"id": SUPPORT, "name": "Support", "description": ""},
        ],
        "clients": [
            {
                "id": CLIENT,
                "name": "Acme",
                "share_rights": [
                    {"group_id": FINANCE, "can_manage": False},
                    {"group_id": SUPPORT, "can_manage": True},
                ],
            }
        ],
    }
    ws.config()
    return sandbox


Cli = Callable[..., Ran]


def test_plan_shows_the_guard_in_every_format_and_fails_the_check(
    client: Sandbox, ws: Workspace, cli: Cli
) -> None:
    # Apply would refuse the change, so plan fails (1 over 2) in every format.
    ws.write("rights.yaml", _rights())
    res = cli("plan", str(ws.root), "--detailed-exitcode", "--no-color")
    assert res.code == 1, res.err
    assert "! guard last-manager: leaves no can_manage group (removes the last: " in res.out
    assert res.out.rstrip("\n").endswith("Apply would refuse: 1 change (guards: last-manager 1)")
    res = cli("plan", str(ws.root), "--format", "json")
    assert res.code == 1
    [change] = json.loads(res.out)["changes"]
    assert [g["rule"] for g in change["guards"]] == ["last-manager"]
    assert "allowed" not in change["guards"][0]
    assert "Apply would refuse: 1 change (guards: last-manager 1)" in res.err
    res = cli("plan", str(ws.root), "--format", "markdown")
    md = res.out
    assert res.code == 1
    assert "| guards |" in md and "⚠️ 1" in md and "! guard last-manager" in md
    assert md.rstrip("\n").splitlines()[-1].startswith("**Apply would refuse\\: 1 change")
    assert client.writes() == []


def test_guarded_apply_writes_nothing_and_names_the_rule(
    client: Sandbox, ws: Workspace, cli: Cli
) -> None:
    ws.write("rights.yaml", _rights())
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 1
    assert f"refused (guard last-manager)  {ADDRESS}: last-manager: leaves no can_manage" in (
        res.out
    )
    assert "--force" in res.out
    assert "Apply complete: 0 applied, 0 conflict, 0 failed, 1 refused." in res.out
    assert client.writes() == []


def test_allowed_guard_applies(client: Sandbox, ws: Workspace, cli: Cli) -> None:
    ws.write("rights.yaml", _rights('"Support hands the client to Finance"'))
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 0, res.err
    assert (
        "! guard last-manager (allowed: Support hands the client to Finance): leaves no " in res.out
    )
    assert client.writes() != []
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_force_applies_over_a_guard(client: Sandbox, ws: Workspace, cli: Cli) -> None:
    ws.write("rights.yaml", _rights())
    res = cli("apply", str(ws.root), "--auto-approve", "--force")
    assert res.code == 0, res.err
    assert client.writes() != []


def _saved(ws: Workspace, cli: Cli, refused: bool = False) -> tuple[str, dict[str, Any]]:
    out = ws.root / "plan.json"
    res = cli("plan", str(ws.root), "--out", str(out))
    assert res.code == (1 if refused else 0), res.err  # plan fails when apply would refuse
    return str(out), json.loads(out.read_text())


def test_saved_plan_with_a_guard_is_refused_unless_forced(
    client: Sandbox, ws: Workspace, cli: Cli
) -> None:
    ws.write("rights.yaml", _rights())
    path, _ = _saved(ws, cli, refused=True)
    config = str(ws.root / "reconciler.yaml")
    res = cli("apply", path, "--config", config, "--no-color")
    assert res.code == 1
    assert f"refused (guard last-manager)  {ADDRESS}: last-manager: leaves no can_manage" in (
        res.out
    )
    assert client.writes() == []
    res = cli("apply", path, "--config", config, "--force")
    assert res.code == 0, res.err
    assert client.writes() != []


def test_saved_plan_honours_the_recorded_allow(client: Sandbox, ws: Workspace, cli: Cli) -> None:
    ws.write("rights.yaml", _rights('"Support hands the client to Finance"'))
    path, doc = _saved(ws, cli)
    assert doc["changes"][0]["allow"] == {"last-manager": "Support hands the client to Finance"}
    res = cli("apply", path, "--config", str(ws.root / "reconciler.yaml"))
    assert res.code == 0, res.err
    assert client.writes() != []


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda c: c.update(guards=[]), id="findings-removed"),
        pytest.param(
            lambda c: c.update(guards=[{**c["guards"][0], "allowed": True, "reason": "x"}]),
            id="finding-marked-allowed",
        ),
        pytest.param(lambda c: c.update(allow={"everyone": "another rule"}), id="other-rule"),
    ],
)
def test_forged_saved_plan_is_still_refused(
    client: Sandbox, ws: Workspace, cli: Cli, forge: Callable[[dict[str, Any]], None]
) -> None:
    ws.write("rights.yaml", _rights())
    path, doc = _saved(ws, cli, refused=True)
    forge(doc["changes"][0])
    doc["checksum"] = planfile._checksum(doc)
    ws.write("plan.json", json.dumps(doc))
    res = cli("apply", path, "--config", str(ws.root / "reconciler.yaml"), "--no-color")
    assert res.code == 1
    assert f"refused (guard last-manager)  {ADDRESS}" in res.out
    assert client.writes() == []


def test_bitsight_everyone_is_refused_then_allowed(
    sandbox: Sandbox, ws: Workspace, cli: Cli
) -> None:
    guid = "fcc8b8c4-4fa3-4735-ac14-405ac7855d70"
    options = {"is_shared": True, "shared_with_all_users": False, "shared_with": []}
    sandbox.state["bitsight"] = {
        "folders": [{"guid": guid, "name": "Handbook", "shared_options": options}]
    }
    ws.config()
    doc = f"kind: {FOLDER}\nspec:\n  folder_guid: {guid}\n  shared_with_all_users: true\n"
    ws.write("folder.yaml", "apiVersion: reconciler/v1\n" + doc)
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 1 and "refused (guard everyone)" in res.out
    assert "everyone: opens it to everyone" in res.out
    assert sandbox.writes() == []
    allow = 'metadata:\n  allow: {everyone: "The handbook folder is for all staff"}\n'
    ws.write("folder.yaml", "apiVersion: reconciler/v1\n" + allow + doc)
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.err
    assert sandbox.writes() != []
