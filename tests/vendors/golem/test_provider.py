"""Golem Cloud end to end over loopback: revisions, replace, prune, lost responses, export,
both create forms and the case of UUIDs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.plugin.http import MAX_TRIES
from reconciler.sandbox import Fault, Hook, Sandbox
from tests.support.harness import RunCli, Workspace

OWNER = "6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11"
SECOND = "2e8d4b6a-0c1f-4a3e-b5d7-9a1c3e5f7b22"
UNNAMED = "9d0c8b7a-6e5f-4d3c-8b2a-1f0e9d8c7b33"
T1 = "0b9e2f47-8a1d-4e6b-b3c5-7f2e9d4a6b22"
T2 = "a3d8c1e5-6f2b-4a9c-8d7e-1b5f3c9e2d33"
OPS = "11111111-1111-4111-8111-111111111111"
OLD = "22222222-2222-4222-8222-222222222222"
AWAY = "33333333-3333-4333-8333-333333333333"
VIEW = "application(ops@acme.com/shop) @ dev@acme.com : view :"
EDIT = "application(ops@acme.com/shop) @ dev@acme.com : update :"
DENY = "application(ops@acme.com/vault) @ dev@acme.com : view :"
CI = "application(ops@acme.com/shop) @ ci@acme.com : view :"
DEV, CI_EMAIL = "dev@acme.com", "ci@acme.com"
ACCOUNTS = [
    {"id": OWNER, "email": "ops@acme.com", "name": "ops"},
    {"id": SECOND, "email": "data@acme.com", "name": "data"},
    {"id": UNNAMED, "email": "partner@example.com", "name": "partner"},
    {"id": T1, "email": DEV, "name": "dev"},
    {"id": T2, "email": CI_EMAIL, "name": "ci"},
]
KEYS = ("lowerPositive", "lowerNegative", "upperPositive", "upperNegative")
SHARES = "/v1/permission-shares"
ADDR = f"golem/GolemPermissionShare/{OWNER}/ops"


def data(lp: list[str] | None = None, ln: list[str] | None = None) -> dict[str, list[str]]:
    return {
        "lowerPositive": lp or [],
        "lowerNegative": ln or [],
        "upperPositive": [],
        "upperNegative": [],
    }


def live(sid: str, owner: str, name: str, target: str, rev: int = 0, **lists: list[str]) -> Any:
    """A share as the sandbox stores it."""
    return {
        "id": sid,
        "revision": rev,
        "ownerAccountId": owner,
        "targetAccountId": target,
        "name": name,
        "data": {k: lists.get(k, []) for k in KEYS},
    }


@pytest.fixture
def seeded(sandbox: Sandbox) -> Sandbox:
    sandbox.state["golem"] = {
        "accounts": ACCOUNTS,
        "shares": [
            live(OPS, OWNER, "ops", T1, 5, lowerPositive=[VIEW]),
            live(OLD, OWNER, "old", T2, 2, lowerPositive=[CI]),
            live(AWAY, UNNAMED, "away", T1, lowerPositive=[VIEW]),
        ],
    }
    return sandbox


def manifest(
    name: str = "ops", target: str = T1, owner: str = OWNER, grants: str = "", email: str = ""
) -> str:
    spec = f"owner_account_id: {owner}\n  name: {name}\n  target_account_id: {target}"
    if email:
        spec += f"\n  target_account_email: {email}"
    if grants:
        spec += f"\n  data: {grants}"
    return f"apiVersion: reconciler/v1\nkind: GolemPermissionShare\nspec:\n  {spec}\n"


def share(sb: Sandbox, name: str, owner: str = OWNER) -> dict[str, Any]:
    live = [
        s
        for s in sb.state["golem"]["shares"]
        if s["name"] == name and s["ownerAccountId"] == owner and not s.get("deleted")
    ]
    assert len(live) == 1, live
    return live[0]


def test_update_patches_with_the_plans_revision_and_all_four_lists(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("s.yaml", manifest(grants=f'{{lowerPositive: ["{VIEW}", "{EDIT}"]}}'))
    plan = cli("plan", str(ws.root), "--no-color", "--out", str(ws.root / "plan.json"))
    assert f"  ~ {ADDR}" in plan.out
    assert json.loads((ws.root / "plan.json").read_text())["changes"][0]["revision"] == 5
    res = cli("apply", str(ws.root / "plan.json"), "--config", str(ws.root / "reconciler.yaml"))
    assert res.code == 0, res.out + res.err
    (patch,) = seeded.writes()
    assert (patch.method, patch.path) == ("PATCH", f"{SHARES}/{OPS}")
    assert patch.body == {"currentRevision": 5, "name": "ops", "data": data(sorted([VIEW, EDIT]))}
    assert patch.headers["authorization"] == "Bearer sandbox-golem-credential"
    assert share(seeded, "ops")["revision"] == 6
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_create_sends_all_four_lists_even_when_the_spec_names_one(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("s.yaml", manifest(name="new", owner=SECOND, grants=f'{{lowerNegative: ["{DENY}"]}}'))
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    (post,) = seeded.writes()
    assert (post.method, post.path) == ("POST", f"/v1/accounts/{SECOND}/permission-shares")
    assert post.body == {"targetAccountEmail": DEV, "name": "new", "data": data(ln=[DENY])}
    assert set(post.body["data"]) == set(KEYS)


def test_grants_compare_as_sets(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    seeded.state["golem"]["shares"][0]["data"] = data([VIEW, EDIT])
    ws.config()
    # Other order, a duplicate, and the empty lists left out: the same share.
    ws.write("s.yaml", manifest(grants=f'{{lowerPositive: ["{EDIT}", "{VIEW}", "{EDIT}"]}}'))
    res = cli("plan", str(ws.root), "--detailed-exitcode")
    assert res.code == 0, res.out
    assert "No changes." in res.out


def test_target_change_is_a_replace_delete_then_post(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("s.yaml", manifest(target=T2, grants=f'{{lowerPositive: ["{CI}"]}}'))
    plan = cli("plan", str(ws.root), "--no-color")
    assert f"-/+ {ADDR}" in plan.out
    assert f'target_account_id: "{T1}" -> "{T2}"' in plan.out
    assert "Plan: 0 to create, 0 to update, 1 to replace, 0 to delete." in plan.out
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out + res.err
    delete, post = seeded.writes()
    assert (delete.method, delete.path, delete.query) == (
        "DELETE",
        f"{SHARES}/{OPS}",
        "current_revision=5",
    )
    assert (post.method, post.path) == ("POST", f"/v1/accounts/{OWNER}/permission-shares")
    assert post.body == {"targetAccountEmail": CI_EMAIL, "name": "ops", "data": data([CI])}
    now = share(seeded, "ops")
    assert (now["targetAccountId"], now["revision"]) == (T2, 0) and now["id"] != OPS
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_replace_whose_create_fails_says_deleted_not_recreated(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("s.yaml", manifest(target=T2))
    seeded.faults.append(Fault("500", "POST", times=MAX_TRIES))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 1
    assert f"failed  {ADDR}: golem: deleted, not recreated" in res.out
    # Bounded: MAX_TRIES POSTs, each followed by a look-up by name that finds nothing.
    assert [r.method for r in seeded.writes()] == ["DELETE"] + ["POST"] * MAX_TRIES
    assert sum(1 for r in seeded.log if r.path.endswith("/permission-shares/ops")) == MAX_TRIES


def test_revision_conflict_is_reported_and_the_rest_still_applies(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("s.yaml", manifest(grants=f'{{lowerPositive: ["{EDIT}"]}}'))
    ws.write("t.yaml", manifest(name="new", owner=SECOND))

    def meddle(sb: Sandbox) -> None:
        ops = share(sb, "ops")
        ops["data"]["lowerNegative"] = [DENY]
        ops["revision"] += 1

    # Someone edits the share between our plan and our PATCH.
    seeded.hooks.append(Hook(meddle, method="PATCH"))
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 1
    assert f"conflict  {ADDR}: changed since the plan (revision 5, now 6)" in res.out
    assert "Apply complete: 1 applied, 1 conflict, 0 failed." in res.out
    patches = [r for r in seeded.writes() if r.method == "PATCH"]
    assert [p.status for p in patches] == [409], "a 409 is never retried as an overwrite"
    ops = share(seeded, "ops")
    assert ops["data"] == data([VIEW], [DENY]) and ops["revision"] == 6
    assert share(seeded, "new", SECOND)["targetAccountId"] == T1


def test_stale_saved_plan_writes_nothing(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write("s.yaml", manifest(grants=f'{{lowerPositive: ["{EDIT}"]}}'))
    ws.write("t.yaml", manifest(name="new", owner=SECOND))
    cli("plan", str(ws.root), "--out", str(ws.root / "plan.json"))
    share(seeded, "ops")["revision"] += 1
    seeded.state["golem"]["shares"].append(live(OLD.replace("2", "5"), SECOND, "new", T2))
    res = cli("apply", str(ws.root / "plan.json"), "--config", str(ws.root / "reconciler.yaml"))
    assert res.code == 1
    assert "plan is stale" in res.err and "revision 5 -> 6" in res.err
    assert f"golem/GolemPermissionShare/{SECOND}/new: changed since the plan" in res.err
    assert seeded.writes() == []


def test_prune_needs_the_setting_and_stays_in_named_accounts(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("s.yaml", manifest(grants=f'{{lowerPositive: ["{VIEW}"]}}'))
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0

    ws.config(providers="golem.prune: [permission_shares]")
    plan = cli("plan", str(ws.root), "--no-color")
    assert f"  - golem/GolemPermissionShare/{OWNER}/old" in plan.out
    assert "away" not in plan.out
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    (delete,) = seeded.writes()
    assert (delete.path, delete.query) == (f"{SHARES}/{OLD}", "current_revision=2")
    assert not any(UNNAMED in r.path for r in seeded.log), "an unnamed account is never read"
    assert share(seeded, "away", UNNAMED)["revision"] == 0


def test_prune_delete_of_a_share_already_gone_is_done(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(providers="golem.prune: [permission_shares]")
    ws.write("s.yaml", manifest(grants=f'{{lowerPositive: ["{VIEW}"]}}'))
    seeded.hooks.append(Hook(lambda sb: share(sb, "old").update(deleted=True), method="DELETE"))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out
    assert [r.status for r in seeded.writes()] == [404]


def test_lost_post_response_makes_no_duplicate(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write("s.yaml", manifest(name="new", owner=SECOND, grants=f"{{upperPositive: [{VIEW!r}]}}"))
    seeded.faults.append(Fault("commit-then-drop", "POST"))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out + res.err
    assert [r.method for r in seeded.writes()] == ["POST"]
    assert share(seeded, "new", SECOND)["data"]["upperPositive"] == [VIEW]
    n = len(seeded.log)
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    assert [r for r in seeded.log[n:] if r.is_write] == []


def test_409_on_a_retried_post_is_resolved_by_name(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("s.yaml", manifest(name="new", owner=SECOND))

    def late_commit(sb: Sandbox) -> None:
        # Our first POST, answered 500, lands after the look-up that found nothing.
        sb.state["golem"]["shares"].append(live(AWAY.replace("3", "6"), SECOND, "new", T1))

    def arm(sb: Sandbox) -> None:
        sb.hooks.append(Hook(late_commit, after=sb.count, method="POST"))

    seeded.hooks.append(Hook(arm, method="POST"))
    seeded.faults.append(Fault("500", "POST"))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out + res.err
    assert [r.status for r in seeded.writes()] == [500, 409]
    assert share(seeded, "new", SECOND)["targetAccountId"] == T1


def test_409_on_the_first_post_is_someone_elses_share(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("s.yaml", manifest(name="new", owner=SECOND))

    def theirs(sb: Sandbox) -> None:
        sb.state["golem"]["shares"].append(
            live(AWAY.replace("3", "7"), SECOND, "new", T2, lowerPositive=[DENY])
        )

    seeded.hooks.append(Hook(theirs, method="POST"))
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 1
    assert "conflict  golem/GolemPermissionShare/" in res.out and "since the plan" in res.out
    assert share(seeded, "new", SECOND)["targetAccountId"] == T2


def test_lost_patch_response_counts_as_applied(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write("s.yaml", manifest(grants=f'{{lowerPositive: ["{EDIT}"]}}'))
    seeded.faults.append(Fault("commit-then-drop", "PATCH"))
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 0, res.out + res.err
    assert f"applied  {ADDR}" in res.out
    # The retried PATCH meets our own revision: 409, then a read by id settles it.
    assert [r.status for r in seeded.writes()] == [200, 409]
    assert seeded.log[-1].path == f"{SHARES}/{OPS}" and seeded.log[-1].method == "GET"
    assert share(seeded, "ops")["revision"] == 6
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_patch_that_never_landed_fails_without_conflict(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("s.yaml", manifest(grants=f'{{lowerPositive: ["{EDIT}"]}}'))
    seeded.faults.append(Fault("503", "PATCH", times=5))
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 1
    assert f"failed  {ADDR}" in res.out
    assert share(seeded, "ops")["revision"] == 5


def test_offline_checks(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    path = ws.write("s.yaml", manifest(target=OWNER, grants='{lowerPositive: ["  "]}'))
    res = cli("validate", str(ws.root))
    assert res.code == 1
    assert f"{path}:6:" in res.err and "an account cannot share permissions with itself" in res.err
    assert f"{path}:7:26: a grant must not be blank" in res.err
    assert seeded.log == []


def test_export_needs_scopes_and_round_trips(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    config = str(ws.config())
    out = ws.root / "exported"
    res = cli("export", "--provider", "golem", "--config", config, "--out", str(out))
    assert res.code == 1
    assert "cannot list owner accounts; pass --scope ACCOUNT_ID" in res.err
    assert seeded.log == []
    res = cli(
        "export", "--provider", "golem", "--config", config, "--scope", OWNER, "--out", str(out)
    )
    assert res.code == 0, res.err
    text = (out / "GolemPermissionShare.yaml").read_text()
    assert text.index("name: old") < text.index("name: ops") and "away" not in text
    again = cli("plan", str(out), "--config", config, "--detailed-exitcode")
    assert again.code == 0, again.out + again.err


# -- the two create forms (the current API names the target by email) ------------------------

ACCOUNT_READS = "/v1/accounts/"


def account_reads(sb: Sandbox) -> list[str]:
    return [
        r.path.removeprefix(ACCOUNT_READS)
        for r in sb.log
        if r.method == "GET" and r.path.startswith(ACCOUNT_READS) and r.path.count("/") == 3
    ]


def test_email_form_reads_each_targets_email_once_before_any_write(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("a.yaml", manifest(name="new", owner=SECOND, grants=f"{{lowerPositive: [{VIEW!r}]}}"))
    ws.write("b.yaml", manifest(name="more", owner=SECOND, grants=f"{{lowerPositive: [{EDIT!r}]}}"))
    ws.write("c.yaml", manifest(name="new", owner=OWNER, target=T2))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out + res.err
    assert sorted(account_reads(seeded)) == [T1, T2], "one read per distinct target"
    first_write = seeded.log.index(seeded.writes()[0])
    assert all(seeded.log.index(r) < first_write for r in seeded.log if r.path.count("/") == 3), (
        "the emails are read before anything is written"
    )
    bodies = sorted((w.body["name"], w.body["targetAccountEmail"]) for w in seeded.writes())
    assert bodies == [("more", DEV), ("new", CI_EMAIL), ("new", DEV)]
    assert all("targetAccountId" not in w.body for w in seeded.writes())
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_manifest_email_is_sent_as_given_and_never_compared(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    # The in-sync share names an email no API answer carries: still no change.
    ws.write("s.yaml", manifest(grants=f"{{lowerPositive: [{VIEW!r}]}}", email="DEV@acme.com"))
    ws.write("t.yaml", manifest(name="new", owner=SECOND, email=DEV))
    plan = cli("plan", str(ws.root), "--no-color")
    assert "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete." in plan.out, plan.out
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    (post,) = seeded.writes()
    assert post.body == {"targetAccountEmail": DEV, "name": "new", "data": data()}
    assert account_reads(seeded) == [], "the manifest's email needs no account read"
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_id_form_sends_the_target_id_and_reads_no_account(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    seeded.state["golem"]["create_target_by"] = "id"
    ws.config(providers="golem.create_target_by: id")
    ws.write("s.yaml", manifest(name="new", owner=SECOND))
    ws.write("t.yaml", manifest(target=T2, grants=f"{{lowerPositive: [{CI!r}]}}"))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out + res.err
    posts = sorted((w.body["name"], w.body) for w in seeded.writes() if w.method == "POST")
    assert posts == [
        ("new", {"targetAccountId": T1, "name": "new", "data": data()}),
        ("ops", {"targetAccountId": T2, "name": "ops", "data": data([CI])}),
    ]
    assert account_reads(seeded) == []


@pytest.mark.parametrize(("server", "setting"), [("id", "email"), ("email", "id")])
def test_a_400_naming_the_other_form_names_the_setting(
    seeded: Sandbox, ws: Workspace, cli: RunCli, server: str, setting: str
) -> None:
    seeded.state["golem"]["create_target_by"] = server
    ws.config(providers=f"golem.create_target_by: {setting}")
    ws.write("s.yaml", manifest(name="new", owner=SECOND))
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 1
    assert f"set create_target_by: {server} on provider golem" in res.out, res.out
    assert [w.status for w in seeded.writes()] == [400]


def test_an_unreadable_target_fails_only_its_share_and_writes_nothing_for_it(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    seeded.state["golem"]["private_accounts"] = [T2]
    ws.config()
    path = ws.write("s.yaml", manifest(name="new", owner=SECOND, target=T2))
    ws.write("t.yaml", manifest(grants=f"{{lowerPositive: [{EDIT!r}]}}"))
    plan = cli("plan", str(ws.root), "--no-color")
    assert plan.code == 0, plan.out + plan.err
    assert f"{path}:1:1: warning: golem/GolemPermissionShare/{SECOND}/new:" in plan.err
    assert f"the email of target account {T2} is needed" in plan.err
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 1
    assert f"failed  golem/GolemPermissionShare/{SECOND}/new" in res.out
    assert "give target_account_email in the manifest" in res.out
    assert "permission to read that account" in res.out
    assert [(w.method, w.path) for w in seeded.writes()] == [("PATCH", f"{SHARES}/{OPS}")]


def test_a_replace_never_deletes_before_its_create_body_is_complete(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    seeded.state["golem"]["private_accounts"] = [T2]
    ws.config()
    ws.write("s.yaml", manifest(target=T2))
    cli("plan", str(ws.root), "--out", str(ws.root / "plan.json"))
    config = str(ws.root / "reconciler.yaml")
    for args in (
        ["apply", str(ws.root / "plan.json"), "--config", config],
        ["apply", str(ws.root), "--auto-approve"],
    ):
        res = cli(*args, "--no-color")
        assert res.code == 1
        assert f"failed  {ADDR}" in res.out and "deleted, not recreated" not in res.out, res.out
        assert f"the email of target account {T2} is needed" in res.out
        assert seeded.writes() == [], "the share is still there: access is not lost"
    assert share(seeded, "ops")["id"] == OPS


def test_replace_with_the_email_resolved_at_plan_time_applies_from_a_saved_plan(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("s.yaml", manifest(target=T2, grants=f"{{lowerPositive: [{CI!r}]}}"))
    cli("plan", str(ws.root), "--out", str(ws.root / "plan.json"))
    assert account_reads(seeded) == [T2]
    seeded.state["golem"]["private_accounts"] = [T2]  # no second read is needed
    res = cli("apply", str(ws.root / "plan.json"), "--config", str(ws.root / "reconciler.yaml"))
    assert res.code == 0, res.out + res.err
    assert [w.method for w in seeded.writes()] == ["DELETE", "POST"]
    assert seeded.writes()[1].body["targetAccountEmail"] == CI_EMAIL


# -- UUIDs in any case ---------------------------------------------------------------------


def test_upper_case_uuids_never_churn(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    grants = f"{{lowerPositive: [{VIEW!r}]}}"
    ws.write("s.yaml", manifest(owner=OWNER.upper(), target=T1.upper(), grants=grants))
    ws.write("t.yaml", manifest(name="new", owner=SECOND.upper(), target=T2.upper()))
    plan = cli("plan", str(ws.root), "--no-color")
    assert "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete." in plan.out, plan.out
    assert f"golem/GolemPermissionShare/{SECOND}/new" in plan.out
    assert account_reads(seeded) == [T2], "read by its lower-case id"
    seeded.log.clear()
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out + res.err
    (post,) = seeded.writes()
    assert post.path == f"/v1/accounts/{SECOND}/permission-shares"
    assert account_reads(seeded) == [T2]
    again = cli("plan", str(ws.root), "--detailed-exitcode", "--no-color")
    assert again.code == 0, again.out
    assert "No changes." in again.out


def test_an_owner_in_two_cases_is_one_share(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write("s.yaml", manifest())
    ws.write("t.yaml", manifest(owner=OWNER.upper()))
    res = cli("validate", str(ws.root))
    assert res.code == 1
    assert f"golem/GolemPermissionShare/{OWNER}/ops is also declared at" in res.err
    assert seeded.log == []


def test_a_grant_for_someone_else_is_refused_readably(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write(
        "s.yaml",
        manifest(name="new", owner=SECOND, target=T2, grants=f"{{lowerPositive: [{VIEW!r}]}}"),
    )
    res = cli("apply", str(ws.root), "--auto-approve", "--no-color")
    assert res.code == 1
    assert "is for dev@acme.com, not the target account (ci@acme.com) or *" in res.out
    assert "INVALID_PERMISSION_SHARE_GRANT" in res.out
