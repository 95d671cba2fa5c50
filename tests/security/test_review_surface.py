"""The review surface shows what apply will do (issue 17, items 6b, 6c and 7):

- `##[add-mask]`, `##[notice ...]` and `##[stop-commands]` in a name are honoured by the
  Actions runner anywhere in a line: every output neutralises `##[` (the value stays
  readable, and JSON still reads back the same value);
- an ignore never hides what a guard would flag: an opening to everyone, a manager added
  by hand or an admin-level permission stays drift (exit 2) and in the plan, and a warning
  names the entry;
- plan fails the check (exit 1, over 2) when apply would refuse a change, in every format.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from reconciler.core import clock
from reconciler.sandbox import Sandbox
from tests.support.harness import Ran, RunCli, Workspace

CLIENT = "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c"
FINANCE = "1a2b3c4d5e6f4a7b8c9d0e1f2a3b4c5d"
SUPPORT = "4d5e6f7a8b9c4d0e1f2a3b4c5d6e7f8a"
MARKERS = [
    "##[add-mask]hunter2",
    "##[notice title=Approved]LGTM",
    "##[stop-commands]tok",
]


def _no_marker(res: Ran) -> None:
    for stream in (res.out, res.err):
        assert "##[" not in stream, stream
    assert "Traceback" not in res.err


# -- 6b: `##[` anywhere in a line -----------------------------------------------------------


@pytest.fixture(params=MARKERS, ids=["add-mask", "notice", "stop-commands"])
def marked(request: pytest.FixtureRequest, sandbox: Sandbox, ws: Workspace) -> str:
    """A live role whose name carries a runner command mid-line; the manifest changes its
    description, so plan, drift and show all print the name."""
    name = f"Ops {request.param} team"
    sandbox.state["klipfolio"] = {
        "roles": [{"id": "7" * 32, "name": name, "description": "old", "permissions": []}],
        # A group of that name too: the access report's rows (CSV) show its label.
        "groups": [{"id": FINANCE, "name": name, "description": ""}],
        "clients": [
            {
                "id": CLIENT,
                "name": "Acme",
                "share_rights": [{"group_id": FINANCE, "can_manage": False}],
            }
        ],
    }
    ws.config()
    ws.write(
        "role.yaml",
        "apiVersion: reconciler/v1\nkind: KlipfolioRole\n"
        f"spec: {{name: {json.dumps(name)}, description: new, permissions: []}}\n",
    )
    ws.write(
        "rights.yaml",
        "apiVersion: reconciler/v1\nkind: KlipfolioClientShareRights\nspec:\n"
        f"  client_id: {CLIENT}\n  groups: [{{group_id: {FINANCE}, can_manage: false}}]\n",
    )
    return name


def test_plan_drift_show_and_access_print_no_runner_command(
    marked: str, ws: Workspace, cli: RunCli, sandbox: Sandbox
) -> None:
    root = str(ws.root)
    saved = str(ws.root / "plan.json")
    runs = {
        "plan text": cli("plan", root, "--no-color"),
        "plan json": cli("plan", root, "--format", "json"),
        "plan markdown": cli("plan", root, "--format", "markdown", "--out", saved),
        "show text": cli("show", saved, "--no-color"),
        "show json": cli("show", saved, "--format", "json"),
        "show markdown": cli("show", saved, "--format", "markdown"),
        "drift text": cli("drift", root, "--no-color"),
        "drift json": cli("drift", root, "--format", "json"),
        "drift markdown": cli("drift", root, "--format", "markdown"),
        **{f"access {f}": cli("access", root, "--format", f) for f in ("text", "csv", "html")},
        "access json": cli("access", root, "--format", "json"),
    }
    for what, res in runs.items():
        assert res.code in (0, 2), (what, res.out, res.err)
        _no_marker(res)
        assert marked.split("##[")[1][:6] in res.out, what  # the value stays readable
    assert "#\\u0023[" in runs["plan text"].out
    # JSON reads back the very name: the escape is a JSON escape.
    (change,) = json.loads(runs["plan json"].out)["changes"]
    assert change["identity"] == ["", marked]
    assert json.loads(runs["show json"].out)["changes"][0]["identity"] == ["", marked]
    report = json.loads(runs["access json"].out)
    assert marked in [r["object_label"] for r in report["roles"]]
    assert [r["principal_label"] for r in report["rows"]] == [marked]
    assert sandbox.writes() == []


@pytest.mark.parametrize("marker", MARKERS, ids=["add-mask", "notice", "stop-commands"])
def test_validate_github_data_carries_no_runner_command(
    marker: str, ws: Workspace, cli: RunCli, sandbox: Sandbox
) -> None:
    ws.config()
    path = ws.write(
        "role.yaml",
        "apiVersion: reconciler/v1\nkind: KlipfolioRole\n"
        f"spec: {{name: Ops, description: x, permissions: [{json.dumps('klip.' + marker)}]}}\n",
    )
    for fmt in ("github", "text", "json"):
        res = cli("validate", str(ws.root), "--format", fmt)
        assert res.code == 1, res.out + res.err
        _no_marker(res)
    res = cli("validate", str(ws.root), "--format", "github")
    assert res.out.startswith(f"::error file={path},line=3,"), res.out
    assert marker.split("]")[1] in res.out
    assert sandbox.writes() == []


# -- 6c: an ignore never hides what a guard would flag ------------------------------------

GUID = "fcc8b8c4-4fa3-4735-ac14-405ac7855d70"
FOLDER = f"bitsight/BitsightFolderSharing/{GUID}"


def _user(email: str, contents: bool = False, properties: bool = False) -> dict[str, Any]:
    return {
        "email": email,
        "can_edit_folder_contents": contents,
        "can_edit_folder_properties": properties,
    }


def _folder(sandbox: Sandbox, users: list[dict[str, Any]], everyone: bool = False) -> None:
    options = {"is_shared": True, "shared_with_all_users": everyone, "shared_with": users}
    folder = {"guid": GUID, "name": "crit", "owner": "o@x.com", "shared_options": options}
    sandbox.state["bitsight"] = {"folders": [folder], "forbidden": []}


def _ignore(ws: Workspace, address: str, fields: str = "") -> int:
    """A whole-object (or `fields`) ignore, active for 10 days; its line in the config."""
    until = (clock.now() + timedelta(days=10)).date().isoformat()
    lines = ["ignore:", f'  - address: "{address}"']
    if fields:
        lines.append(f"    fields: [{fields}]")
    lines += ['    reason: "Vendor ticket 4411"', "    owner: secops@acme.com"]
    lines.append(f"    until: {until}")
    path = ws.config(settings="\n".join(lines))
    written = path.read_text().splitlines()
    return next(n for n, line in enumerate(written, 1) if f'address: "{address}"' in line)


@pytest.fixture
def folder_ignored(sandbox: Sandbox, ws: Workspace) -> int:
    """A folder in sync with its manifest (alice manages it), and an ignore for it added
    while nothing differs; its line in reconciler.yaml."""
    _folder(sandbox, [_user("alice@x.com", contents=True, properties=True)])
    ws.write(
        "folder.yaml",
        f"""
        apiVersion: reconciler/v1
        kind: BitsightFolderSharing
        spec:
          folder_guid: {GUID}
          is_shared: true
          shared_with_all_users: false
          shared_with_users:
            - {{email: alice@x.com, can_edit_folder_contents: true,
                can_edit_folder_properties: true}}
        """,
    )
    return _ignore(ws, "bitsight/BitsightFolderSharing/fcc8*")


def test_an_ignore_does_not_hide_an_opening_to_everyone_or_a_new_manager(
    folder_ignored: int, sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    # Later, by hand: the folder opened to everyone and mallory made an editor of it.
    _folder(
        sandbox,
        [_user("alice@x.com", contents=True, properties=True), _user("mallory@x.com", True, True)],
        everyone=True,
    )
    where = f"{ws.root / 'reconciler.yaml'}:{folder_ignored}:7: warning: ignore for "
    drift = cli("drift", str(ws.root), "--no-color")
    assert drift.code == 2, drift.out + drift.err
    assert "mallory@x.com" in drift.out and "shared_with_all_users" in drift.out
    assert "Ignored:" not in drift.out
    (warning,) = [line for line in drift.err.splitlines() if line.startswith(where)]
    assert f"does not hide {FOLDER}: opens it to everyone" in warning
    # BitSight's manager label names the group too (group_can_edit_properties).
    assert "adds or raises a folder manager (a user who can edit its properties" in warning
    assert "or the group): mallory@x.com;" in warning
    plan = cli("plan", str(ws.root), "--no-color", "--detailed-exitcode")
    assert plan.code == 2, plan.out + plan.err
    assert "- member mallory@x.com" in plan.out and "shared_with_all_users: true -> false" in (
        plan.out
    )
    assert any(line.startswith(where) for line in plan.err.splitlines())
    assert sandbox.writes() == []


def test_an_ignore_still_hides_a_difference_no_guard_watches(
    folder_ignored: int, sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    _folder(sandbox, [_user("alice@x.com", contents=True, properties=True), _user("bob@x.com")])
    drift = cli("drift", str(ws.root), "--no-color")
    assert drift.code == 0, drift.out + drift.err
    assert f"{FOLDER}: object (update)" in drift.out and "does not hide" not in drift.err


def test_an_ignore_does_not_hide_an_admin_permission_added_by_hand(
    sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    sandbox.state["klipfolio"] = {
        "roles": [
            {"id": "7" * 32, "name": "Ops", "description": "x", "permissions": ["klip.email"]}
        ],
    }
    ws.write(
        "role.yaml",
        "apiVersion: reconciler/v1\nkind: KlipfolioRole\n"
        "spec: {name: Ops, description: x, permissions: [klip.email]}\n",
    )
    line = _ignore(ws, "klipfolio/KlipfolioRole/Ops", fields="permissions")
    sandbox.state["klipfolio"]["roles"][0]["permissions"].append("account.api_key")
    drift = cli("drift", str(ws.root), "--no-color")
    assert drift.code == 2, drift.out + drift.err
    assert "account.api_key" in drift.out
    assert (
        f"{ws.root / 'reconciler.yaml'}:{line}:7: warning: ignore for "
        "klipfolio/KlipfolioRole/Ops (field permissions) does not hide "
        "klipfolio/KlipfolioRole/Ops: gives admin-level permission account.api_key"
    ) in drift.err
    assert sandbox.writes() == []


# -- 7: plan fails the check when apply would refuse ---------------------------------------

REFUSE = "Apply would refuse: 1 change (guards: last-manager 1)"


@pytest.fixture
def last_manager(sandbox: Sandbox, ws: Workspace) -> Sandbox:
    """The manifest removes Support, the client's only manager (last-manager)."""
    sandbox.state["klipfolio"] = {
        "groups": [
            {"id": FINANCE, "name": "F", "description": ""},
            {"id": SUPPORT, "name": "S", "description": ""},
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
    ws.write(
        "rights.yaml",
        "apiVersion: reconciler/v1\nkind: KlipfolioClientShareRights\nspec:\n"
        f"  client_id: {CLIENT}\n  groups: [{{group_id: {FINANCE}, can_manage: false}}]\n",
    )
    return sandbox


def test_plan_exits_1_when_apply_would_refuse_in_every_format(
    last_manager: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    text = cli("plan", str(ws.root), "--no-color", "--detailed-exitcode")
    assert text.code == 1, text.out + text.err
    assert "! guard last-manager" in text.out  # the whole plan is still printed
    assert text.out.rstrip("\n").splitlines()[-1] == REFUSE
    as_json = cli("plan", str(ws.root), "--format", "json", "--detailed-exitcode")
    assert as_json.code == 1
    assert json.loads(as_json.out)["summary"]["update"] == 1  # stdout stays the plan document
    assert as_json.err.strip().splitlines()[-1] == REFUSE
    md = cli("plan", str(ws.root), "--format", "markdown", "--detailed-exitcode")
    assert md.code == 1
    last = md.out.rstrip("\n").splitlines()[-1]
    assert last.startswith("**Apply would refuse") and "last\\-manager 1" in last
    assert last_manager.writes() == []


def test_plan_exits_1_over_a_safety_threshold_and_2_when_apply_would_write_it_all(
    last_manager: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(settings="safety: {max_delete_percent: 10, max_update_percent: 30, min_existing: 1}")
    res = cli("plan", str(ws.root), "--no-color", "--detailed-exitcode")
    assert res.code == 1
    last = res.out.rstrip("\n").splitlines()[-1]
    assert last.startswith("Apply would refuse: 1 change (guards: last-manager 1; safety: 1 of 2")
    assert "KlipfolioClientShareRights deletes exceed max_delete_percent 10" in last
    # Allowed in the document and within the thresholds: the usual exit 2.
    ws.config()
    ws.write(
        "rights.yaml",
        "apiVersion: reconciler/v1\nkind: KlipfolioClientShareRights\n"
        'metadata: {allow: {last-manager: "Support hands the client over"}}\nspec:\n'
        f"  client_id: {CLIENT}\n  groups: [{{group_id: {FINANCE}, can_manage: false}}]\n",
    )
    res = cli("plan", str(ws.root), "--no-color", "--detailed-exitcode")
    assert res.code == 2, res.out + res.err
    assert "Apply would refuse" not in res.out + res.err
    assert last_manager.writes() == []
