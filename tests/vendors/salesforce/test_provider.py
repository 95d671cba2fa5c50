"""Salesforce end to end over loopback: share ids, 15/18-char ids, quota, DELETE 404, export."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.sandbox import Fault, Hook, Sandbox
from reconciler.vendors.salesforce.ids import to18
from tests.support.harness import RunCli, Workspace

API = "/services/data/v60.0"
REPORTS, BOARDS, LOCKED = "00l5e000001AbCdAAK", "00l5e000001XyZqAAK", "00l5e000001LoCkAAK"
USER, USER2 = "005R0000000Kg8yIAC", "005R0000000Kg9AIAS"
GROUP, ROLE = "00G5e000000TeAmEAK", "00E5e000000RoLeEAK"
ORG = "00D5e000000OrGzEAK"
S_USER, S_GROUP, S_ORG = "0045e000000Sh01AAC", "0045e000000Sh02AAC", "0045e000000Sh03AAC"
ADDR = f"salesforce/SalesforceFolderShares/{REPORTS}"

NO_EVERYONE_GUARD = "guards: {disabled: [everyone]}"
"""These tests open folders to everyone on purpose (tests/test_guards.py covers the guard)."""


def _share(sid: str, access: str, share_type: str, target: str) -> dict[str, str]:
    return {"shareId": sid, "accessType": access, "shareType": share_type, "sharedWithId": target}


def _folder(fid: str, shares: list[dict[str, str]] | None = None) -> dict[str, object]:
    return {
        "id": fid,
        "label": fid[-6:],
        "name": fid[-6:],
        "type": "report",
        "shares": shares or [],
    }


@pytest.fixture
def seeded(sandbox: Sandbox) -> Sandbox:
    sandbox.state["salesforce"] = {
        "org_id": ORG[:15],
        "folders": [
            _folder(
                REPORTS,
                [
                    _share(S_USER, "view", "user", USER),
                    _share(S_GROUP, "edit", "group", GROUP),
                    _share(S_ORG, "view", "organization", ORG),
                ],
            ),
            _folder(BOARDS),
            _folder(LOCKED),
        ],
        "read_only": [LOCKED],
    }
    return sandbox


def _shares(sb: Sandbox, fid: str = REPORTS) -> dict[tuple[str, str], str]:
    folder = next(f for f in sb.state["salesforce"]["folders"] if f["id"] == fid)
    return {(s["shareType"], s["sharedWithId"]): s["accessType"] for s in folder["shares"]}


def _manifest(fid: str, shares: str, members: str = "authoritative") -> str:
    return f"""
apiVersion: reconciler/v1
kind: SalesforceFolderShares
spec:
  folder_id: {fid}
  members: {members}
  shares:
{shares}"""


REPORTS_SHARES = f"""\
    - {{share_type: user, shared_with_id: {USER}, access_type: manage}}
    - {{share_type: organization, access_type: view}}
    - {{share_type: roleandsubordinates, shared_with_id: {ROLE}, access_type: view}}
    - {{share_type: user, shared_with_id: {USER2}, access_type: edit}}
"""


def test_plan_apply_uses_live_share_ids_and_converges(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("f.yaml", _manifest(REPORTS, REPORTS_SHARES))
    plan = cli("plan", str(ws.root), "--detailed-exitcode")
    assert plan.code == 2, plan.err
    assert f"~ {ADDR}" in plan.out
    assert f'~ member user:{USER}: access_type: "view" -> "manage"' in plan.out
    assert f'+ member roleandsubordinates:{ROLE}: access_type="view"' in plan.out
    assert f'- member group:{GROUP}: access_type="edit"' in plan.out
    assert "Members: 2 to add, 1 to change, 1 to remove." in plan.out
    assert seeded.writes() == []

    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out + res.err
    writes = seeded.writes()
    # Grants (one POST for every add, then the PATCH) before the removal.
    assert [(r.method, r.path) for r in writes] == [
        ("POST", f"{API}/folders/{REPORTS}/shares"),
        ("PATCH", f"{API}/folders/{REPORTS}/shares/{S_USER}"),
        ("DELETE", f"{API}/folders/{REPORTS}/shares/{S_GROUP}"),
    ]
    assert writes[0].body == {
        "shares": [
            {"accessType": "view", "shareType": "roleandsubordinates", "shareWithId": ROLE},
            {"accessType": "edit", "shareType": "user", "shareWithId": USER2},
        ]
    }
    assert writes[1].body == {"accessType": "manage", "shareType": "user", "shareWithId": USER}
    assert writes[2].body is None and writes[2].status == 204
    token = ws.sandbox.credentials()["salesforce"]
    assert all(r.headers["authorization"] == f"Bearer {token}" for r in seeded.log)
    assert _shares(seeded) == {
        ("user", USER): "manage",
        ("organization", ORG): "view",
        ("roleandsubordinates", ROLE): "view",
        ("user", USER2): "edit",
    }
    n = len(seeded.log)
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    assert [r for r in seeded.log[n:] if r.is_write] == []


@pytest.mark.parametrize(
    ("folder", "user"),
    [
        (REPORTS[:15], USER[:15]),  # 15-character forms
        (REPORTS.lower(), USER.lower()),  # 18-character forms survive case-folding tools
    ],
)
def test_other_spellings_of_an_id_are_the_same_id(
    seeded: Sandbox, ws: Workspace, cli: RunCli, folder: str, user: str
) -> None:
    ws.config()
    ws.write(
        "f.yaml",
        _manifest(
            folder,
            f"""\
    - {{share_type: user, shared_with_id: {user}, access_type: view}}
    - {{share_type: group, shared_with_id: {GROUP}, access_type: edit}}
    - {{share_type: organization, access_type: view}}
""",
        ),
    )
    res = cli("plan", str(ws.root), "--detailed-exitcode")
    assert res.code == 0, res.out + res.err
    assert "No changes." in res.out


def test_same_member_in_15_and_18_characters_is_listed_twice(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write(
        "f.yaml",
        _manifest(
            REPORTS,
            f"""\
    - {{share_type: user, shared_with_id: {USER[:15]}, access_type: view}}
    - {{share_type: User, shared_with_id: {USER}, access_type: edit}}
""",
        ),
    )
    res = cli("validate", str(ws.root))
    assert res.code == 1
    # Reported at the second entry, pointing back at the first.
    assert "f.yaml:8:" in res.err and "line 7" in res.err


def test_enums_are_case_insensitive_and_sent_lower_case(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write(
        "f.yaml",
        _manifest(
            REPORTS,
            f"""\
    - {{share_type: USER, shared_with_id: {USER}, access_type: View}}
    - {{share_type: Group, shared_with_id: {GROUP}, access_type: EDIT}}
    - {{share_type: Organization, access_type: VIEW}}
    - {{share_type: RoleAndSubordinates, shared_with_id: {ROLE}, access_type: Manage}}
""",
        ),
    )
    plan = cli("plan", str(ws.root))
    assert "Members: 1 to add, 0 to change, 0 to remove." in plan.out
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    (post,) = seeded.writes()
    assert post.body == {
        "shares": [
            {"accessType": "manage", "shareType": "roleandsubordinates", "shareWithId": ROLE}
        ]
    }


def test_organization_share_is_identified_by_type_alone(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(settings=NO_EVERYONE_GUARD)
    org = "    - {share_type: organization, access_type: edit}\n"
    ws.write("f.yaml", _manifest(REPORTS, org, members="additive"))
    plan = cli("plan", str(ws.root))
    assert 'member organization: access_type: "view" -> "edit"' in plan.out
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    (patch,) = seeded.writes()
    assert patch.path == f"{API}/folders/{REPORTS}/shares/{S_ORG}"
    # No recipient in the manifest: none is sent (Salesforce fills in the org).
    assert patch.body == {"accessType": "edit", "shareType": "organization", "shareWithId": ""}
    assert _shares(seeded)[("organization", ORG)] == "edit"


def test_organization_share_sends_the_org_id_the_manifest_gives(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(settings=NO_EVERYONE_GUARD)
    org = f"    - {{share_type: organization, shared_with_id: {ORG[:15]}, access_type: view}}\n"
    ws.write("f.yaml", _manifest(BOARDS, org))
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    (post,) = seeded.writes()
    assert post.body == {
        "shares": [{"accessType": "view", "shareType": "organization", "shareWithId": ORG}]
    }
    assert _shares(seeded, BOARDS) == {("organization", ORG): "view"}
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_additive_adds_and_changes_but_never_removes(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("f.yaml", _manifest(REPORTS, REPORTS_SHARES, members="additive"))
    plan = cli("plan", str(ws.root))
    assert "Members: 2 to add, 1 to change, 0 to remove." in plan.out
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    assert [r.method for r in seeded.writes()] == ["POST", "PATCH"]
    assert _shares(seeded)[("group", GROUP)] == "edit"
    assert len(_shares(seeded)) == 5
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_authoritative_empty_list_revokes_every_share(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("f.yaml", _manifest(REPORTS, "    []\n").replace("shares:\n    []", "shares: []"))
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    assert sorted(r.path for r in seeded.writes()) == sorted(
        f"{API}/folders/{REPORTS}/shares/{sid}" for sid in (S_USER, S_GROUP, S_ORG)
    )
    assert _shares(seeded) == {}


def test_quota_error_stops_the_provider_with_no_further_calls(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    seeded.state["salesforce"]["daily_limit"] = 1000
    ws.config()
    grant = "    - {{share_type: group, shared_with_id: {g}, access_type: view}}\n"
    ws.write("a.yaml", _manifest(REPORTS, REPORTS_SHARES))
    ws.write("b.yaml", _manifest(BOARDS, grant.format(g=GROUP)))
    # The org runs out of API calls just as the first write arrives.
    seeded.hooks.append(
        Hook(lambda sb: sb.state["salesforce"].update(api_usage=1000), method="POST")
    )
    res = cli("apply", str(ws.root), "--auto-approve", "--parallelism", "1")
    assert res.code == 1
    assert "API request limit is used up" in res.out
    assert "no further calls are made to this provider" in res.out
    assert "Apply complete: 0 applied, 0 conflict, 2 failed." in res.out
    (refused,) = [r for r in seeded.log if r.status == 403]
    assert refused is seeded.log[-1] and refused.method == "POST"


def test_quota_error_while_reading_fails_the_plan(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    seeded.state["salesforce"].update(daily_limit=10, api_usage=10)
    ws.config()
    ws.write("a.yaml", _manifest(REPORTS, REPORTS_SHARES))
    res = cli("plan", str(ws.root))
    assert res.code == 1
    assert "REQUEST_LIMIT_EXCEEDED" in res.err and "API request limit is used up" in res.err
    assert len(seeded.log) == 1


def test_other_403_fails_only_that_folder_quoting_salesforce(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    grant = "    - {{share_type: group, shared_with_id: {g}, access_type: view}}\n"
    ws.write("a.yaml", _manifest(LOCKED, grant.format(g=GROUP)))
    ws.write("b.yaml", _manifest(BOARDS, grant.format(g=GROUP)))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 1
    assert "You do not have sufficient access to manage this folder" in res.out
    assert "Apply complete: 1 applied, 0 conflict, 1 failed." in res.out
    assert _shares(seeded, BOARDS) == {("group", GROUP): "view"}


def test_unknown_or_hidden_folder_fails_the_plan_naming_it(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    hidden = to18("00l5e000001HiDe")
    seeded.state["salesforce"]["folders"].append(_folder(hidden))
    seeded.state["salesforce"]["no_access"] = [hidden]
    ws.config()
    grant = "    - {share_type: organization, access_type: view}\n"
    ws.write("a.yaml", _manifest(hidden, grant))
    res = cli("plan", str(ws.root))
    assert res.code == 1
    assert f"folder {hidden}" in res.err and "no access" in res.err
    assert str(ws.root / "a.yaml") in res.err


def test_delete_404_is_done_once_a_fresh_read_lacks_the_share(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("f.yaml", _manifest(REPORTS, REPORTS_SHARES))

    def revoke_elsewhere(sb: Sandbox) -> None:
        folder = sb.state["salesforce"]["folders"][0]
        folder["shares"] = [s for s in folder["shares"] if s["shareId"] != S_GROUP]

    seeded.hooks.append(Hook(revoke_elsewhere, method="DELETE"))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out
    delete, reread = seeded.log[-2:]
    assert (delete.method, delete.status) == ("DELETE", 404)
    assert (reread.method, reread.path, reread.status) == (
        "GET",
        f"{API}/folders/{REPORTS}/shares",
        200,
    )


def test_delete_404_from_lost_access_is_not_counted_as_done(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("f.yaml", _manifest(REPORTS, REPORTS_SHARES))
    seeded.hooks.append(
        Hook(lambda sb: sb.state["salesforce"].update(no_access=[REPORTS]), method="DELETE")
    )
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 1
    assert f"failed  {ADDR}" in res.out and "not known to be removed" in res.out
    assert ("group", GROUP) in _shares(seeded)


def test_unclear_post_reposts_only_the_missing_shares(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("f.yaml", _manifest(REPORTS, REPORTS_SHARES))

    def someone_adds_one(sb: Sandbox) -> None:
        sb.state["salesforce"]["folders"][0]["shares"].append(
            _share(to18("0045e000000Sh09"), "edit", "user", USER2)
        )

    # The first POST is answered 500 (not processed); meanwhile USER2 got its share.
    seeded.faults.append(Fault("500", "POST"))
    seeded.hooks.append(Hook(someone_adds_one, method="POST"))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out
    posts = [r for r in seeded.writes() if r.method == "POST"]
    assert [len(p.body["shares"]) for p in posts] == [2, 1]
    assert posts[1].body["shares"][0]["shareWithId"] == ROLE
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_lost_post_response_does_not_duplicate(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write("f.yaml", _manifest(REPORTS, REPORTS_SHARES))
    seeded.faults.append(Fault("commit-then-drop", "POST"))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out
    assert [r.method for r in seeded.writes()].count("POST") == 1
    assert len(seeded.state["salesforce"]["folders"][0]["shares"]) == 4


def test_duplicate_value_after_an_unclear_post_is_resolved_by_reading(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    grant = f"    - {{share_type: group, shared_with_id: {GROUP}, access_type: view}}\n"
    ws.write("f.yaml", _manifest(BOARDS, grant))

    def landed_late(sb: Sandbox) -> None:
        sb.state["salesforce"]["folders"][1]["shares"].append(
            _share(to18("0045e000000Sh08"), "view", "group", GROUP)
        )

    # Plan GET, pre-write GET, POST (500), re-read GET, then the retried POST meets the
    # share the first one created after all: 400 DUPLICATE_VALUE.
    seeded.faults.append(Fault("500", "POST"))
    seeded.hooks.append(Hook(landed_late, after=4, method="POST"))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out
    statuses = [(r.method, r.status) for r in seeded.log]
    assert statuses == [
        ("GET", 200),
        ("GET", 200),
        ("POST", 500),
        ("GET", 200),
        ("POST", 400),
        ("GET", 200),
    ]
    assert seeded.log[4].body == seeded.log[2].body


def test_saved_plan_applies(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write("f.yaml", _manifest(REPORTS, REPORTS_SHARES))
    out = ws.root / "plan.json"
    assert cli("plan", str(ws.root), "--out", str(out)).code == 0
    res = cli("apply", str(out), "--config", str(ws.root / "reconciler.yaml"))
    assert res.code == 0, res.out + res.err
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


@pytest.mark.parametrize(
    ("share", "message"),
    [
        ("{share_type: user, access_type: view}", "share_type user needs shared_with_id"),
        ("{share_type: owner, access_type: view}", "share_type"),
        (f"{{share_type: user, shared_with_id: {USER}, access_type: admin}}", "access_type"),
    ],
)
def test_invalid_shares_are_reported_offline(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, share: str, message: str
) -> None:
    ws.config()
    path = ws.write("f.yaml", _manifest(REPORTS, f"    - {share}\n"))
    res = cli("validate", str(ws.root))
    assert res.code == 1
    assert f"{path}:" in res.err and message in res.err
    assert sandbox.log == []


def test_export_reads_every_page_of_folders_and_round_trips(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    folders = []
    for i in range(25):
        fid = to18(f"00l5e00000{i:05d}")
        shares = [_share(to18(f"0045e0000{i:06d}"), "view", "group", GROUP)] if i % 2 else []
        if i == 7:
            shares.append(_share(to18("0045e000000Or07"), "edit", "organization", ORG))
        folders.append(_folder(fid, shares))
    sandbox.state["salesforce"] = {"org_id": ORG, "folders": folders}
    ws.config()
    out = tmp_path / "exported"
    config = str(ws.root / "reconciler.yaml")
    res = cli("export", "--config", config, "--provider", "salesforce", "--out", str(out))
    assert res.code == 0, res.err
    pages = [r.query for r in sandbox.log if r.path == f"{API}/folders"]
    assert pages == ["", "page=2&pageSize=10", "page=3&pageSize=10"]
    text = (out / "SalesforceFolderShares.yaml").read_text()
    assert text.count("kind: SalesforceFolderShares") == 12
    assert text.index(to18("00l5e0000000001")) < text.index(to18("00l5e0000000023"))
    (out / "reconciler.yaml").write_text((ws.root / "reconciler.yaml").read_text())
    again = cli("plan", str(out), "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert sandbox.writes() == []


def test_bad_token_stops_the_provider_naming_the_env_var(
    seeded: Sandbox, ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.config()
    ws.write("f.yaml", _manifest(REPORTS, REPORTS_SHARES))
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", "00Dwrong!session")
    res = cli("plan", str(ws.root))
    assert res.code == 1
    assert "SALESFORCE_ACCESS_TOKEN" in res.err and "00Dwrong!session" not in res.err + res.out
