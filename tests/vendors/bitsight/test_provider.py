"""BitSight end to end over loopback: emails, members modes, one-call reads, folder owners,
group_can_edit_properties, 429 without Retry-After, auth."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import Fault, Sandbox
from reconciler.vendors.bitsight.provider import BitsightProvider
from tests.support.harness import RunCli, Workspace

CRIT = "fcc8b8c4-4fa3-4735-ac14-405ac7855d70"
SUPP = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
THEIRS = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
PATCH_CRIT = ("PATCH", f"/ratings/v1/folders/{CRIT}")
ME, ZED = "owner@x.com", "zed@x.com"
"""The token's user, who owns CRIT and SUPP; THEIRS is zed's, merely shared with us."""
NOT_OWNER = "You must be the folder owner to manage permissions"

NO_EVERYONE_GUARD = "guards: {disabled: [everyone]}"
"""These tests open folders to everyone on purpose (tests/test_guards.py covers the guard)."""


def _folder(
    guid: str, users: list[dict[str, Any]], owner: str = ME, **flags: bool
) -> dict[str, Any]:
    options = {
        "is_shared": True,
        "shared_with_all_users": False,
        "group_can_edit_contents": True,
        "group_can_edit_properties": True,
        "shared_with": users,
    }
    options.update(flags)
    return {"guid": guid, "name": guid[:4], "owner": owner, "shared_options": options}


def _user(email: str, contents: bool = False, properties: bool = False) -> dict[str, Any]:
    return {
        "email": email,
        "can_edit_folder_contents": contents,
        "can_edit_folder_properties": properties,
    }


@pytest.fixture
def seeded(sandbox: Sandbox) -> Sandbox:
    sandbox.state["bitsight"] = {
        "folders": [
            _folder(CRIT, [_user("alice@x.com", contents=True), _user("Bob@X.com")]),
            _folder(SUPP, []),
            _folder(THEIRS, [_user(ME)], owner=ZED),
        ],
        "token_user": ME,
    }
    return sandbox


def sharing(guid: str, body: str) -> str:
    head = "apiVersion: reconciler/v1\nkind: BitsightFolderSharing\nspec:\n"
    return f"{head}  folder_guid: {guid}\n{body}"


def live(sb: Sandbox, guid: str) -> dict[str, Any]:
    folder = next(f for f in sb.state["bitsight"]["folders"] if f["guid"] == guid)
    options: dict[str, Any] = folder["shared_options"]
    return options


def test_emails_compare_case_insensitively_and_order_is_ignored(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write(
        "f.yaml",
        sharing(
            CRIT,
            "  shared_with_users:\n"
            "    - {email: bob@x.com}\n"
            "    - {email: Alice@X.com, can_edit_folder_contents: true}\n",
        ),
    )
    res = cli("plan", str(ws.root), "--detailed-exitcode")
    assert res.code == 0, res.out + res.err
    assert "No changes." in res.out


def test_declared_emails_keep_manifest_spelling_kept_ones_live_spelling(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write(
        "f.yaml",
        sharing(
            CRIT,
            "  members: additive\n"
            "  shared_with_users:\n"
            "    - {email: ALICE@x.com, can_edit_folder_contents: true}\n"
            "    - {email: Carol@X.com, can_edit_folder_properties: true}\n",
        ),
    )
    plan = cli("plan", str(ws.root))
    assert "+ member carol@x.com" in plan.out
    assert "alice" not in plan.out and "bob" not in plan.out.lower()
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out + res.err
    (patch,) = seeded.writes()
    assert (patch.method, patch.path) == PATCH_CRIT
    assert patch.body["shared_options"]["shared_with_users"] == [
        _user("ALICE@x.com", contents=True),
        _user("Bob@X.com"),
        _user("Carol@X.com", properties=True),
    ]


def test_additive_keeps_unlisted_users_and_sends_live_and_desired(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write(
        "f.yaml",
        sharing(
            CRIT,
            "  members: additive\n"
            "  shared_with_users: [{email: alice@x.com, can_edit_folder_properties: true}]\n",
        ),
    )
    plan = cli("plan", str(ws.root))
    assert "~ member alice@x.com: can_edit_folder_contents: true -> false" in plan.out
    assert "- member" not in plan.out
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    (patch,) = seeded.writes()
    assert patch.body == {
        "shared_options": {
            "is_shared": True,
            "group_can_edit_contents": True,
            "group_can_edit_properties": True,
            "shared_with_all_users": False,
            "shared_with_users": [_user("alice@x.com", properties=True), _user("Bob@X.com")],
        }
    }
    assert live(seeded, CRIT)["shared_with"] == [
        _user("alice@x.com", properties=True),
        _user("Bob@X.com"),
    ]
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_authoritative_drops_unlisted_users(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write(
        "f.yaml",
        sharing(
            CRIT, "  shared_with_users: [{email: alice@x.com, can_edit_folder_contents: true}]\n"
        ),
    )
    plan = cli("plan", str(ws.root))
    assert "- member bob@x.com" in plan.out
    assert "Members: 0 to add, 0 to change, 1 to remove." in plan.out
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    (patch,) = seeded.writes()
    assert patch.body["shared_options"]["shared_with_users"] == [_user("alice@x.com", True)]
    assert live(seeded, CRIT)["shared_with"] == [_user("alice@x.com", True)]
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_empty_authoritative_list_unshares_everyone(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("f.yaml", sharing(CRIT, "  shared_with_users: []\n"))
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    assert live(seeded, CRIT)["shared_with"] == []


def test_unmanaged_booleans_and_users_are_sent_with_live_values(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(settings=NO_EVERYONE_GUARD)
    # Only one flag is managed; the other two flags and the user list are left alone.
    ws.write("f.yaml", sharing(CRIT, "  shared_with_all_users: true\n"))
    plan = cli("plan", str(ws.root))
    assert "shared_with_all_users: false -> true" in plan.out
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    (patch,) = seeded.writes()
    assert patch.body == {
        "shared_options": {
            "is_shared": True,
            "group_can_edit_contents": True,
            "group_can_edit_properties": True,
            "shared_with_all_users": True,
            "shared_with_users": [_user("alice@x.com", contents=True), _user("Bob@X.com")],
        }
    }
    # Not managed here: the live value is sent back, and stays.
    assert live(seeded, CRIT)["group_can_edit_properties"] is True


def test_one_list_call_reads_every_folder(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write(
        "f.yaml",
        "---\n".join(sharing(g, "  is_shared: false\n") for g in (CRIT, SUPP)),
    )
    res = cli("plan", str(ws.root))
    assert "Plan: 0 to create, 2 to update" in res.out, res.out + res.err
    gets = [(r.method, r.path) for r in seeded.requests("bitsight")]
    assert gets == [("GET", "/ratings/v1/folders")]


def test_folder_not_owned_is_a_plan_error_naming_the_owner(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    # The list shows THEIRS (shared with the token's user, owned by zed): before, it planned
    # cleanly and every apply failed with BitSight's 403.
    ws.config(settings=NO_EVERYONE_GUARD)
    path = ws.write(
        "f.yaml",
        "---\n".join(sharing(g, "  shared_with_all_users: true\n") for g in (CRIT, THEIRS)),
    )
    for command in (("plan",), ("apply", "--auto-approve")):
        res = cli(*command, str(ws.root))
        assert res.code == 1, res.out + res.err
        line = next(x for x in res.err.splitlines() if THEIRS in x)
        assert line.startswith(f"{path}:7:1: bitsight/BitsightFolderSharing/{THEIRS}: ")
        assert f"owned by {ZED}" in line and "only the folder's owner" in line
        assert CRIT not in res.err
        assert "Plan:" not in res.out
    assert seeded.writes() == []
    assert live(seeded, THEIRS)["shared_with_all_users"] is False


def test_sandbox_refuses_a_sharing_change_by_anyone_but_the_owner(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    # A saved plan made while the token's user still owned the folder: the folder changes
    # hands before apply, and BitSight's 403 fails only that object, quoting it.
    ws.config(settings=NO_EVERYONE_GUARD)
    ws.write(
        "f.yaml",
        "---\n".join(sharing(g, "  shared_with_all_users: true\n") for g in (CRIT, SUPP)),
    )
    out = ws.root / "plan.json"
    assert cli("plan", str(ws.root), "--out", str(out)).code == 0
    next(f for f in seeded.state["bitsight"]["folders"] if f["guid"] == CRIT)["owner"] = ZED
    res = cli("apply", str(out), "--config", str(ws.root / "reconciler.yaml"))
    assert res.code == 1
    assert f"failed  bitsight/BitsightFolderSharing/{CRIT}" in res.out
    assert NOT_OWNER in res.out
    assert "Apply complete: 1 applied, 0 conflict, 1 failed." in res.out
    statuses = sorted((r.path.rsplit("/", 1)[1], r.status) for r in seeded.writes())
    assert statuses == sorted([(CRIT, 403), (SUPP, 200)])
    assert live(seeded, CRIT)["shared_with_all_users"] is False


def test_unknown_folder_fails_the_plan_naming_the_guid(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    unknown = "11111111-2222-4333-8444-555555555555"
    ws.write("f.yaml", sharing(CRIT, "  is_shared: false\n") + "---\n" + sharing(unknown, ""))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 1
    assert unknown in res.err and "never created" in res.err
    assert seeded.writes() == []


def test_duplicate_email_differing_in_case_is_invalid(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    path = ws.write(
        "f.yaml",
        sharing(CRIT, "  shared_with_users:\n    - {email: a@x.com}\n    - {email: A@X.com}\n"),
    )
    res = cli("validate", str(ws.root))
    assert res.code == 1
    assert f"{path}:7:7:" in res.out + res.err
    assert "a@x.com" in res.err and "line 6" in res.err


def test_requests_use_basic_auth_with_the_token_and_no_password(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("f.yaml", sharing(SUPP, "  is_shared: false\n"))
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    token = seeded.credentials()["bitsight"]
    expected = "Basic " + base64.b64encode(f"{token}:".encode()).decode()
    requests = seeded.requests("bitsight")
    assert [r.method for r in requests] == ["GET", "GET", "PATCH"]
    assert all(r.headers["authorization"] == expected for r in requests)


def test_bad_token_stops_the_provider_naming_the_env_var(
    seeded: Sandbox, ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.config()
    ws.write("f.yaml", sharing(SUPP, "  is_shared: false\n"))
    monkeypatch.setenv("BITSIGHT_API_TOKEN", "wrong-token-value")
    res = cli("plan", str(ws.root))
    assert res.code == 1
    assert "BITSIGHT_API_TOKEN" in res.err and "wrong-token-value" not in res.out + res.err


def test_export_then_plan_shows_no_changes(
    seeded: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    ws.config()
    out = ws.root / "exported"
    res = cli(
        "export",
        "--config",
        str(ws.root / "reconciler.yaml"),
        "--provider",
        "bitsight",
        "--out",
        str(out),
    )
    assert res.code == 0, res.out + res.err
    text = (out / "BitsightFolderSharing.yaml").read_text()
    assert text.index(SUPP) < text.index(CRIT)
    assert "Bob@X.com" in text and "group_can_edit_properties: true" in text
    # A folder the token cannot share is listed as skipped, not written.
    assert THEIRS not in text
    (skipped,) = [x for x in res.err.splitlines() if THEIRS in x]
    assert f"{ws.root / 'reconciler.yaml'}:" in skipped and "warning: " in skipped
    assert "skipped" in skipped and f"owned by {ZED}" in skipped
    plan = cli(
        "plan", str(out), "--config", str(ws.root / "reconciler.yaml"), "--detailed-exitcode"
    )
    assert plan.code == 0, plan.out + plan.err
    assert [r.is_write for r in seeded.log].count(True) == 0


def test_saved_plan_applies_with_manifest_spelling_and_refuses_when_stale(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write(
        "f.yaml",
        sharing(
            CRIT, "  shared_with_users:\n    - {email: Alice@X.com}\n    - {email: bob@x.com}\n"
        )
        + "---\n"
        + sharing(SUPP, "  shared_with_users: [{email: Dan@X.com}]\n"),
    )
    out = ws.root / "plan.json"
    assert cli("plan", str(ws.root), "--out", str(out)).code == 0
    # Someone re-shares the second folder after the plan: the saved plan must not apply.
    live(seeded, SUPP)["shared_with"].append(_user("eve@x.com"))
    stale = cli("apply", str(out), "--config", str(ws.root / "reconciler.yaml"))
    assert stale.code == 1 and SUPP in stale.out + stale.err
    assert seeded.writes() == []
    live(seeded, SUPP)["shared_with"].clear()
    res = cli("apply", str(out), "--config", str(ws.root / "reconciler.yaml"))
    assert res.code == 0, res.out + res.err
    bodies = {r.path.rsplit("/", 1)[1]: r.body["shared_options"] for r in seeded.writes()}
    assert bodies[CRIT]["shared_with_users"] == [_user("Alice@X.com"), _user("bob@x.com")]
    assert bodies[SUPP]["shared_with_users"] == [_user("Dan@X.com")]


# -- group_can_edit_properties ------------------------------------------------------------


def test_group_can_edit_properties_is_diffed_sent_and_stored(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    # Before: not in the schema (validate refused it), and never diffed or sent.
    ws.config()
    live(seeded, CRIT)["shared_with"][0]["can_edit_folder_properties"] = True  # a manager stays
    ws.write("f.yaml", sharing(CRIT, "  group_can_edit_properties: false\n"))
    plan = cli("plan", str(ws.root), "--detailed-exitcode")
    assert plan.code == 2, plan.out + plan.err
    assert "group_can_edit_properties: true -> false" in plan.out
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    (patch,) = seeded.writes()
    assert patch.body["shared_options"]["group_can_edit_properties"] is False
    assert live(seeded, CRIT)["group_can_edit_properties"] is False
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_group_can_edit_properties_true_trips_the_everyone_guard(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    live(seeded, SUPP)["group_can_edit_properties"] = False
    ws.write("f.yaml", sharing(SUPP, "  group_can_edit_properties: true\n"))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 1, res.out + res.err
    assert "guard everyone: opens it to everyone: group_can_edit_properties false -> true" in (
        res.out + res.err
    )
    assert seeded.writes() == []


def test_turning_off_the_group_as_last_manager_trips_last_manager(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    # SUPP is shared, nobody can edit its properties but the whole group.
    ws.config()
    ws.write("f.yaml", sharing(SUPP, "  group_can_edit_properties: false\n"))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 1, res.out + res.err
    assert "guard last-manager: leaves no folder manager" in res.out + res.err
    assert "group_can_edit_properties" in res.out + res.err
    assert seeded.writes() == []


def test_access_report_gives_the_group_manage(
    seeded: Sandbox, ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not shared with all users, but every group user may edit the folder: a manager each.
    ws.config()
    live(seeded, SUPP)["group_can_edit_contents"] = False
    ws.write("f.yaml", sharing(SUPP, "  is_shared: true\n"))
    monkeypatch.chdir(ws.root)
    ran = cli("access", ".", "--format", "json")
    assert ran.code == 0, ran.err
    rows = [r for r in json.loads(ran.out)["rows"] if r["object"].endswith(SUPP)]
    (group,) = [r for r in rows if r["principal"] == "bitsight-all-users"]
    assert (group["access"], group["privileged"]) == ("manage", True)
    assert "group_can_edit_properties" in group["detail"]


# -- 429 without Retry-After ---------------------------------------------------------------


def test_429_without_retry_after_waits_the_vendors_minute(
    seeded: Sandbox, ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # BitSight says "Please wait 1 minute" and sends no Retry-After; before, the next try
    # came after the usual backoff (milliseconds here, seconds in all in production).
    assert BitsightProvider.DEFAULTS.rate_limit_wait == 60
    wait = 0.4
    lowered = dataclasses.replace(BitsightProvider.DEFAULTS, rate_limit_wait=wait)
    monkeypatch.setattr(BitsightProvider, "DEFAULTS", lowered)
    seeded.retry_after = None  # the sandbox's default for BitSight: no header
    seeded.faults.append(Fault("429", "GET", path_contains="/ratings/", times=2))
    ws.config()
    ws.write("f.yaml", sharing(CRIT, "  is_shared: true\n"))
    res = cli("plan", str(ws.root))
    assert res.code == 0, res.out + res.err
    log = seeded.requests("bitsight")
    assert [r.status for r in log] == [429, 429, 200]
    gaps = [b.at - a.at for a, b in zip(log, log[1:], strict=False)]
    assert all(wait <= gap < wait + 5 for gap in gaps), gaps
