"""Expiring access (SPEC §5.2): the evaluation on model values, then end to end with `--at`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.core import clock
from reconciler.core.model import Action, Change, Expiry, KindSpec, LiveObject, Resource, Source
from reconciler.engine.diff import diff
from reconciler.governance import expiry
from reconciler.sandbox import Sandbox
from tests.support.harness import Ran, Workspace


def plan_one(
    spec: KindSpec, r: Resource, live: LiveObject | None, differ: Callable[..., Change | None]
) -> Change | None:
    """The plain diff, then what the expiry phase makes of it."""
    return expiry.revise(spec, r, live, differ(spec, r, live))


Cli = Callable[..., Ran]

HERE = Source("m.yaml", 3, 1)
LIST = KindSpec("Sharing", identity=("folder",), members_field="users")
SHARE = KindSpec("Share", identity=("owner", "name"), prune_key="permission_shares")
JAN31 = datetime(2027, 1, 31, tzinfo=UTC)


def _on(day: int, month: int = 1) -> datetime:
    return datetime(2027, month, day, tzinfo=UTC)


def _sharing(mode: str = "authoritative", **expiring: datetime) -> Resource:
    users = {"alice": {"edit": False}, "bob": {"edit": False}}
    return Resource(
        "Sharing",
        "p",
        ("f1",),
        {"users": users},
        HERE,
        members_mode=mode,
        member_expires={k: Expiry(when, HERE) for k, when in expiring.items()},
    )


def _live_users(*keys: str) -> LiveObject:
    return LiveObject(("f1",), {"users": {k: {"edit": False} for k in keys}})


def _share(when: datetime | None) -> Resource:
    expires = Expiry(when, HERE) if when else None
    return Resource("Share", "p", ("o", "ops"), {"target": "t1"}, HERE, expires=expires)


# -- evaluation on model values -------------------------------------------------------------


def test_a_member_is_kept_until_its_expiry_then_removed() -> None:
    r = _sharing(alice=JAN31)
    live = _live_users("alice", "bob")
    with clock.frozen(_on(30)):
        assert plan_one(LIST, r, live, diff) is None
    with clock.frozen(JAN31):  # access ends at the very instant given
        change = plan_one(LIST, r, live, diff)
    assert change is not None and change.action is Action.UPDATE
    [removal] = change.members
    assert (removal.action, removal.key) == ("remove", "alice")
    assert (removal.expires, removal.reason) == ("2027-01-31", "expired")
    assert change.desired == {"users": {"bob": {"edit": False}}}
    assert r.desired["users"].keys() == {"alice", "bob"}, "the resource itself is untouched"


def test_an_additive_list_loses_only_its_lapsed_members() -> None:
    r = _sharing("additive", alice=JAN31)
    live = _live_users("alice", "bob", "carol")
    with clock.frozen(_on(1, 2)):
        change = plan_one(LIST, r, live, diff)
    assert change is not None
    assert [(m.action, m.key, m.reason) for m in change.members] == [("remove", "alice", "expired")]
    assert change.desired is not None
    assert change.desired["users"].keys() == {"bob", "carol"}


def test_a_lapsed_member_that_is_not_live_changes_nothing() -> None:
    with clock.frozen(_on(1, 2)):
        assert plan_one(LIST, _sharing(alice=JAN31), _live_users("bob"), diff) is None


def test_a_member_still_to_expire_carries_its_date() -> None:
    with clock.frozen(_on(1)):
        change = plan_one(LIST, _sharing(alice=JAN31), _live_users("bob"), diff)
    assert change is not None
    [add] = change.members
    assert (add.action, add.key, add.expires, add.reason) == ("add", "alice", "2027-01-31", None)


def test_a_lapsed_object_is_deleted_when_live_and_never_created() -> None:
    live = LiveObject(("o", "ops"), {"target": "t1"}, revision=4)
    r = _share(JAN31)
    with clock.frozen(_on(30)):
        assert plan_one(SHARE, r, live, diff) is None
        create = plan_one(SHARE, r, None, diff)
    assert create is not None and create.action is Action.CREATE
    assert (create.expires, create.reason) == ("2027-01-31", None)
    with clock.frozen(_on(1, 2)):
        delete = plan_one(SHARE, r, live, diff)
        assert plan_one(SHARE, r, None, diff) is None
    assert delete is not None and delete.action is Action.DELETE
    assert (delete.expires, delete.reason, delete.revision) == ("2027-01-31", "expired", 4)


def test_a_saved_delete_is_verified_against_the_clock_now() -> None:
    live = LiveObject(("o", "ops"), {"target": "t1"})
    with clock.frozen(_on(1, 2)):
        delete = plan_one(SHARE, _share(JAN31), live, diff)
    assert delete is not None
    with clock.frozen(_on(30)):
        assert not expiry.verified(delete)
    with clock.frozen(JAN31):
        assert expiry.verified(delete)
    delete.reason = None
    with clock.frozen(JAN31):
        assert not expiry.verified(delete)


def test_grants_sort_soonest_first_with_days_left() -> None:
    r = _sharing(bob=_on(10), alice=_on(3))
    share = _share(_on(5))
    grants = expiry.grants([r, share])
    assert [(g.member, g.days_left(_on(5))) for g in grants] == [
        ("alice", -2),
        (None, 0),
        ("bob", 5),
    ]
    with clock.frozen(_on(4)):
        assert [g.member for g in expiry.due([r, share], _on(5) - _on(4))] == ["alice", None]


# -- end to end on the sandbox ----------------------------------------------------------------

ACME = "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c"
G_FIN, G_SALES, G_SUP = "a" * 32, "b" * 32, "c" * 32
FOLDER = "fcc8b8c4-4fa3-4735-ac14-405ac7855d70"
OWNER = "6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11"
TARGET = "0b9e2f47-8a1d-4e6b-b3c5-7f2e9d4a6b22"
SHARE_ID = "11111111-1111-4111-8111-111111111111"
SHARE_ADDR = f"golem/GolemPermissionShare/{OWNER}/ops"
RIGHTS_ADDR = f"klipfolio/KlipfolioClientShareRights/{ACME}"


def _rights(sandbox: Sandbox) -> set[str]:
    return {r["group_id"] for r in sandbox.state["klipfolio"]["clients"][0]["share_rights"]}


@pytest.fixture
def klipfolio(sandbox: Sandbox) -> Sandbox:
    sandbox.state["klipfolio"] = {
        "groups": [
            {"id": G_FIN, "name": "Finance"},
            {"id": G_SALES, "name": "Sales"},
            {"id": G_SUP, "name": "Support"},
        ],
        "clients": [
            {
                "id": ACME,
                "name": "Acme",
                "share_rights": [
                    {"group_id": G_FIN, "can_manage": False},
                    {"group_id": G_SALES, "can_manage": True},
                    {"group_id": G_SUP, "can_manage": False},
                ],
            }
        ],
        "roles": [],
    }
    return sandbox


def _golem(sandbox: Sandbox, present: bool = True) -> None:
    shares: list[dict[str, Any]] = []
    if present:
        lists: dict[str, list[str]] = {
            k: [] for k in ("lowerPositive", "lowerNegative", "upperPositive", "upperNegative")
        }
        shares.append(
            {
                "id": SHARE_ID,
                "revision": 3,
                "ownerAccountId": OWNER,
                "targetAccountId": TARGET,
                "name": "ops",
                "data": lists,
            }
        )
    sandbox.state["golem"] = {"accounts": [OWNER, TARGET], "shares": shares}


def _live_shares(sandbox: Sandbox) -> list[str]:
    return [s["name"] for s in sandbox.state["golem"]["shares"] if not s.get("deleted")]


def _golem_manifest(expires: str) -> str:
    return f"""
        apiVersion: reconciler/v1
        kind: GolemPermissionShare
        spec:
          owner_account_id: {OWNER}
          name: ops
          target_account_id: {TARGET}
          expires: {expires}
        """


@pytest.mark.parametrize("mode", ["authoritative", "additive"])
def test_a_member_expiring_between_two_times_is_kept_then_removed(
    klipfolio: Sandbox, ws: Workspace, cli: Cli, mode: str
) -> None:
    ws.config()
    support = f"\n            - {{group_id: {G_SUP}, can_manage: false}}" * (
        mode == "authoritative"
    )
    ws.write(
        "rights.yaml",
        f"""
        apiVersion: reconciler/v1
        kind: KlipfolioClientShareRights
        spec:
          client_id: {ACME}
          members: {mode}
          groups:
            - {{group_name: Finance, can_manage: false, expires: 2027-01-31}}
            - {{group_id: {G_SALES}, can_manage: true}}{support}
        """,
    )
    before = cli("plan", str(ws.root), "--at", "2027-01-30T23:59:59Z", "--detailed-exitcode")
    assert before.code == 0, before.out + before.err
    assert "No changes." in before.out

    plan = cli("plan", str(ws.root), "--at", "2027-01-31", "--no-color", "--format", "text")
    assert f"~ {RIGHTS_ADDR}" in plan.out
    assert f"- member {G_FIN} (Finance): can_manage=false (expired 2027-01-31)" in plan.out
    assert "rights.yaml:7:" in plan.err and "expired on 2027-01-31" in plan.err

    doc = json.loads(cli("plan", str(ws.root), "--at", "2027-01-31", "--format", "json").out)
    [member] = doc["changes"][0]["members"]
    assert (member["action"], member["expires"], member["reason"]) == (
        "remove",
        "2027-01-31",
        "expired",
    )

    assert cli("apply", str(ws.root), "--at", "2027-01-30", "--auto-approve").code == 0
    assert _rights(klipfolio) == {G_FIN, G_SALES, G_SUP}
    applied = cli("apply", str(ws.root), "--at", "2027-01-31", "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert _rights(klipfolio) == {G_SALES, G_SUP}
    assert cli("plan", str(ws.root), "--at", "2027-02-01", "--detailed-exitcode").code == 0


def test_an_expired_golem_share_is_deleted_without_prune(
    sandbox: Sandbox, ws: Workspace, cli: Cli
) -> None:
    _golem(sandbox)
    ws.config()  # prune is off
    ws.write("share.yaml", _golem_manifest("2027-03-01"))
    early = cli("plan", str(ws.root), "--at", "2027-02-01", "--no-color")
    assert early.code == 0 and "No changes." in early.out

    plan = cli("plan", str(ws.root), "--at", "2027-03-01", "--no-color")
    assert f"  - {SHARE_ADDR} (expired 2027-03-01)" in plan.out
    assert "Plan: 0 to create, 0 to update, 0 to replace, 1 to delete." in plan.out
    doc = json.loads(cli("plan", str(ws.root), "--at", "2027-03-01", "--format", "json").out)
    [change] = doc["changes"]
    assert (change["action"], change["reason"], change["expires"]) == (
        "delete",
        "expired",
        "2027-03-01",
    )

    res = cli("apply", str(ws.root), "--at", "2027-03-01", "--auto-approve")
    assert res.code == 0, res.out + res.err
    assert _live_shares(sandbox) == []
    # Gone and expired: never created again.
    assert cli("plan", str(ws.root), "--at", "2027-03-02", "--detailed-exitcode").code == 0


def test_a_share_not_yet_expired_is_created_and_shows_its_expiry(
    sandbox: Sandbox, ws: Workspace, cli: Cli
) -> None:
    _golem(sandbox, present=False)
    ws.config()
    ws.write("share.yaml", _golem_manifest("2027-03-01"))
    plan = cli("plan", str(ws.root), "--at", "2027-02-01", "--no-color")
    assert f"  + {SHARE_ADDR} (expires 2027-03-01)" in plan.out
    assert cli("apply", str(ws.root), "--at", "2027-02-01", "--auto-approve").code == 0
    assert _live_shares(sandbox) == ["ops"]
    posted = [r for r in sandbox.writes() if r.method == "POST"]
    assert posted and "expires" not in json.dumps(posted[0].body)


def test_a_saved_expiry_delete_applies_once_due_and_is_refused_before(
    sandbox: Sandbox, ws: Workspace, cli: Cli
) -> None:
    _golem(sandbox)
    config = str(ws.config())
    ws.write("share.yaml", _golem_manifest("2099-03-01"))
    early = ws.root / "early.json"
    # A plan made for a future time says the share expired; at apply the clock says not yet.
    assert cli("plan", str(ws.root), "--at", "2099-03-02", "--out", str(early)).code == 0
    refused = cli("apply", str(early), "--config", config)
    assert refused.code == 1
    assert "as expired on 2099-03-01, which has not passed yet" in refused.err
    assert cli("apply", str(early), "--config", config, "--at", "2099-03-02").code == 1
    assert _live_shares(sandbox) == ["ops"]

    ws.write("share.yaml", _golem_manifest("2020-01-01"))
    due = ws.root / "due.json"
    assert cli("plan", str(ws.root), "--out", str(due)).code == 0
    applied = cli("apply", str(due), "--config", config)
    assert applied.code == 0, applied.out + applied.err
    assert _live_shares(sandbox) == []


def test_drift_reports_an_expired_grant_still_live(
    klipfolio: Sandbox, ws: Workspace, cli: Cli
) -> None:
    _golem(klipfolio)
    ws.config()
    ws.write("share.yaml", _golem_manifest("2027-03-01"))
    ws.write(
        "rights.yaml",
        f"""
        apiVersion: reconciler/v1
        kind: KlipfolioClientShareRights
        spec:
          client_id: {ACME}
          members: additive
          groups:
            - {{group_id: {G_SUP}, can_manage: false, expires: 2027-02-01}}
        """,
    )
    assert cli("drift", str(ws.root), "--at", "2027-01-15").code == 0
    res = cli("drift", str(ws.root), "--at", "2027-03-01", "--no-color")
    assert res.code == 2, res.out + res.err
    assert f"live still has member {G_SUP} (Support) (expired 2027-02-01)" in res.out
    assert f"{SHARE_ADDR}  (expired 2027-03-01, still live: apply would delete it)" in res.out
    report = json.loads(cli("drift", str(ws.root), "--at", "2027-03-01", "--format", "json").out)
    by_address = {d["address"]: d for d in report["drifted"]}
    assert by_address[SHARE_ADDR]["reason"] == "expired"
    [member] = by_address[RIGHTS_ADDR]["members"]
    assert (member["key"], member["reason"], member["expires"]) == (G_SUP, "expired", "2027-02-01")


EXPIRING = f"""
    apiVersion: reconciler/v1
    kind: BitsightFolderSharing
    spec:
      folder_guid: {FOLDER}
      shared_with_users:
        - email: late@x.com
          expires: 2027-01-20
        - email: lapsed@x.com
          expires: 2026-12-30
        - email: forever@x.com
        - email: edge@x.com
          expires: "2027-01-15T00:00:00Z"
        - email: soon@x.com
          expires: 2027-01-05T12:00:00+02:00
    ---
    apiVersion: reconciler/v1
    kind: GolemPermissionShare
    spec:
      owner_account_id: {OWNER}
      name: ops
      target_account_id: {TARGET}
      expires: 2027-01-03
    """


def test_expiring_lists_exactly_the_grants_in_the_window_soonest_first(
    ws: Workspace, cli: Cli
) -> None:
    ws.config()
    ws.write("grants.yaml", EXPIRING)
    res = cli("expiring", str(ws.root), "--within", "14d", "--at", "2027-01-01")
    assert res.code == 0, res.err
    rows = [line.split() for line in res.out.splitlines()[1:-1]]
    folder = f"bitsight/BitsightFolderSharing/{FOLDER}"
    where = f"{ws.root}/grants.yaml"
    assert rows == [
        ["2026-12-30", "-2", folder, "lapsed@x.com", f"{where}:9"],
        ["2027-01-03", "2", SHARE_ADDR, "—", f"{where}:22"],
        ["2027-01-05T10:00:00Z", "4", folder, "soon@x.com", f"{where}:14"],
        ["2027-01-15", "14", folder, "edge@x.com", f"{where}:12"],
    ]
    assert res.out.splitlines()[0].split() == [
        "EXPIRES",
        "DAYS",
        "LEFT",
        "ADDRESS",
        "MEMBER",
        "SOURCE",
    ]
    assert "4 grants lapsed or lapsing within 14d of 2027-01-01 (1 already lapsed)." in res.out

    data = json.loads(
        cli(
            "expiring", str(ws.root), "--within", "14d", "--at", "2027-01-01", "--format", "json"
        ).out
    )
    assert [(g["member"], g["days_left"], g["line"]) for g in data["grants"]] == [
        ("lapsed@x.com", -2, 9),
        (None, 2, 22),
        ("soon@x.com", 4, 14),
        ("edge@x.com", 14, 12),
    ]
    listed = cli("expiring", str(ws.root), "--at", "2027-01-01", "--detailed-exitcode")
    assert listed.code == 2
    quiet = cli(
        "expiring", str(ws.root), "--at", "2026-11-01", "--within", "2w", "--detailed-exitcode"
    )
    assert quiet.code == 0 and "No grant lapses within 2w of 2026-11-01." in quiet.out


def test_expiring_is_offline_and_needs_no_credential(
    sandbox: Sandbox, ws: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.config()
    ws.write("grants.yaml", EXPIRING)
    for env in ("BITSIGHT_API_TOKEN", "GOLEM_TOKEN"):
        monkeypatch.delenv(env, raising=False)
    assert cli("expiring", str(ws.root), "--at", "2027-01-01").code == 0
    assert sandbox.log == []


def _bitsight_member(expires: str) -> str:
    return f"""
        apiVersion: reconciler/v1
        kind: BitsightFolderSharing
        spec:
          folder_guid: {FOLDER}
          shared_with_users:
            - email: alice@x.com
              expires: {expires}
        """


def test_validate_warns_of_a_past_expiry_in_every_format(ws: Workspace, cli: Cli) -> None:
    ws.config()
    path = ws.write("s.yaml", _bitsight_member("2020-01-01"))
    warning = (
        f"{path}:7:16: warning: spec.shared_with_users.0.expires: member 'alice@x.com' "
        "expired on 2020-01-01; the next apply revokes it"
    )
    res = cli("validate", str(ws.root))
    assert res.code == 0, res.err
    assert warning in res.err.splitlines()
    assert "Valid: 1 object" in res.out

    doc = json.loads(cli("validate", str(ws.root), "--format", "json").out)
    assert [(p["line"], p["column"], p["severity"], p["rule"]) for p in doc] == [
        (7, 16, "warning", "expired")
    ]
    github = cli("validate", str(ws.root), "--format", "github")
    assert github.code == 0
    assert github.out.startswith(f"::warning file={path},line=7,col=16::spec.shared_with_users")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("next tuesday", "'next tuesday' is not a date (YYYY-MM-DD) or an RFC 3339 timestamp"),
        ('"2027-01-31T10:00:00"', "'2027-01-31T10:00:00' needs a zone (Z or +hh:mm)"),
        ("2099-01-01", "2099-01-01 is more than settings.max_grant_days (30) days from now"),
    ],
)
def test_validate_refuses_a_malformed_or_too_distant_expiry(
    ws: Workspace, cli: Cli, value: str, message: str
) -> None:
    ws.config(settings="max_grant_days: 30")
    path = ws.write("s.yaml", _bitsight_member(value))
    res = cli("validate", str(ws.root))
    assert res.code == 1
    assert f"{path}:7:16: spec.shared_with_users.0.expires: {message}" in res.err.splitlines()


def test_at_refuses_a_time_it_cannot_read(ws: Workspace, cli: Cli) -> None:
    ws.config()
    ws.write("s.yaml", _bitsight_member("2027-01-01"))
    bad = cli("plan", str(ws.root), "--at", "soon")
    assert bad.code == 1 and "'soon' is not a date" in bad.err
