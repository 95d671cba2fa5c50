"""Drift ignores that expire (SPEC §5.3): matching on plan values, then end to end on the
sandbox: hidden while active, back with a warning once expired, never written by apply."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from reconciler.core import clock, notices
from reconciler.core.model import Action, Change, LiveObject, Plan, Resource, Source
from reconciler.engine.diff import diff
from reconciler.governance.ignores import Ignore, filter_plan, narrow
from reconciler.plans import planfile
from reconciler.plugin.registry import kind_spec
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_plan
from reconciler.sandbox import Sandbox
from tests.support.harness import Ran, Workspace

CRIT = "fcc8b8c4-4fa3-4735-ac14-405ac7855d70"
OTHER = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ADDRESS = f"bitsight/BitsightFolderSharing/{CRIT}"
KIND = "BitsightFolderSharing"
USERS = "shared_with_users"
HERE = Source("reconciler.yaml", 12, 7)


def _ignore(
    address: str = ADDRESS,
    member: str | None = None,
    fields: tuple[str, ...] = (),
    until: datetime | None = None,
) -> Ignore:
    return Ignore(
        address=address,
        reason="Vendor ticket 4411",
        owner="secops@acme.com",
        until=until or clock.now() + timedelta(days=30),
        source=HERE,
        member=member,
        fields=fields,
    )


def _attrs(contents: bool = False, properties: bool = False) -> dict[str, Any]:
    return {"can_edit_folder_contents": contents, "can_edit_folder_properties": properties}


def _change(desired: dict[str, Any], live: dict[str, Any], guid: str = CRIT) -> Change:
    resource = Resource(KIND, "bitsight", (guid,), desired, Source("f.yaml", 1, 1))
    change = diff(kind_spec(KIND), resource, LiveObject((guid,), live))
    assert change is not None
    return change


LIVE: dict[str, Any] = {
    "is_shared": True,
    "shared_with_all_users": False,
    USERS: {"alice@x.com": _attrs(contents=True), "bob@x.com": _attrs()},
}
WANT: dict[str, Any] = {
    "is_shared": False,
    "shared_with_all_users": False,
    USERS: {"alice@x.com": _attrs(contents=True, properties=True), "carol@x.com": _attrs()},
}


# -- matching on plan values ---------------------------------------------------------------


def test_glob_matches_star_and_question_mark_only() -> None:
    assert _ignore("bitsight/BitsightFolderSharing/fcc8*").matches(ADDRESS)
    assert _ignore("bitsight/*/fcc8b8c4-4fa3-4735-ac14-405ac7855d7?").matches(ADDRESS)
    assert not _ignore("bitsight/BitsightFolderSharing/0a1b*").matches(ADDRESS)
    assert not _ignore("bitsight/BitsightFolderSharing").matches(ADDRESS)  # whole address
    # `[` stands for itself: only `*` and `?` are wildcards.
    assert _ignore("klipfolio/KlipfolioRole/c1/[ops]*").matches(
        "klipfolio/KlipfolioRole/c1/[ops] x"
    )
    assert not _ignore("klipfolio/KlipfolioRole/c1/[ops]*").matches("klipfolio/KlipfolioRole/c1/o")


def test_address_alone_drops_the_whole_object() -> None:
    kept, left_out = narrow(_change(WANT, LIVE), _ignore("bitsight/*"))
    assert kept is None
    assert [(i.address, i.what, i.owner) for i in left_out] == [
        (ADDRESS, "object (update)", "secops@acme.com")
    ]


def test_member_drops_only_that_members_change_and_keeps_its_live_value() -> None:
    change = _change(WANT, LIVE)
    assert {m.key for m in change.members} == {"alice@x.com", "bob@x.com", "carol@x.com"}
    kept, left_out = narrow(change, _ignore(member="Bob@X.com"))
    assert kept is not None and kept.action is Action.UPDATE
    assert {m.key for m in kept.members} == {"alice@x.com", "carol@x.com"}
    assert [f.field for f in kept.fields] == ["is_shared"]
    assert [i.what for i in left_out] == ["member bob@x.com (remove)"]
    # The after-state written (BitSight sends the whole list) still holds bob, as live.
    assert kept.desired is not None
    assert kept.desired[USERS]["bob@x.com"] == _attrs()
    assert kept.desired[USERS]["carol@x.com"] == _attrs()
    # The plan's own values are not touched.
    assert change.desired is not None and "bob@x.com" not in change.desired[USERS]


def test_member_add_ignored_is_left_out_of_the_after_state() -> None:
    kept, left_out = narrow(_change(WANT, LIVE), _ignore(member="carol@x.com"))
    assert kept is not None and kept.desired is not None
    assert "carol@x.com" not in kept.desired[USERS]
    assert [i.what for i in left_out] == ["member carol@x.com (add)"]


def test_fields_drop_only_those_fields() -> None:
    kept, left_out = narrow(_change(WANT, LIVE), _ignore(fields=("is_shared",)))
    assert kept is not None and kept.desired is not None
    assert kept.fields == []
    assert len(kept.members) == 3
    assert kept.desired["is_shared"] is True  # the live value
    assert [i.what for i in left_out] == ["field is_shared"]


def test_a_change_with_nothing_left_drops_out() -> None:
    want = {**LIVE, "is_shared": False}
    kept, left_out = narrow(_change(want, LIVE), _ignore(fields=("is_shared",)))
    assert kept is None and [i.what for i in left_out] == ["field is_shared"]


def test_member_with_fields_keeps_only_the_other_attributes() -> None:
    want = {**LIVE, USERS: {**LIVE[USERS], "alice@x.com": _attrs(contents=False, properties=True)}}
    ignore = _ignore(member="alice@x.com", fields=("can_edit_folder_properties",))
    kept, left_out = narrow(_change(want, LIVE), ignore)
    assert kept is not None and kept.desired is not None
    (m,) = kept.members
    assert m.after == _attrs(contents=False, properties=False)
    assert kept.desired[USERS]["alice@x.com"] == _attrs(contents=False, properties=False)
    assert [i.what for i in left_out] == ["member alice@x.com field can_edit_folder_properties"]


def test_the_share_list_named_as_a_field_drops_every_member_change() -> None:
    kept, _ = narrow(_change(WANT, LIVE), _ignore(fields=(USERS,)))
    assert kept is not None and kept.desired is not None
    assert kept.members == [] and [f.field for f in kept.fields] == ["is_shared"]
    assert kept.desired[USERS] == LIVE[USERS]


def test_filter_plan_lists_ignored_and_skips_expired_entries() -> None:
    plan = Plan([_change(WANT, LIVE), _change(WANT, LIVE, OTHER)], [], "d")
    expired = _ignore(f"bitsight/*/{OTHER}", until=clock.now() - timedelta(days=1))
    out = filter_plan(plan, [_ignore(), expired], [], {"bitsight"})
    assert [c.address for c in out.changes] == [f"bitsight/BitsightFolderSharing/{OTHER}"]
    assert [i.address for i in out.ignored] == [ADDRESS]
    assert out.in_sync == 1


def test_an_entry_that_names_nothing_warns_naming_its_owner() -> None:
    resource = Resource(KIND, "bitsight", (CRIT,), LIVE, Source("f.yaml", 1, 1))
    entries = [
        _ignore(),  # names a declared object that is in sync: not a warning
        _ignore(member="zed@x.com"),
        _ignore(fields=("no_such_field",)),
        _ignore("klipfolio/*"),  # another provider's, not read in this run
    ]
    with notices.collecting() as notes:
        filter_plan(Plan([], [], "d"), entries, [resource], {"bitsight"})
    found = [str(p) for p in notes.take()]
    assert found == [
        f"reconciler.yaml:12:7: warning: ignore for {ADDRESS} (field no_such_field) matches "
        "nothing: no object, member or field it names was read (owner secops@acme.com); "
        "fix or remove it",
        f"reconciler.yaml:12:7: warning: ignore for {ADDRESS} (member zed@x.com) matches "
        "nothing: no object, member or field it names was read (owner secops@acme.com); "
        "fix or remove it",
    ]


# -- end to end on the sandbox -------------------------------------------------------------


def _user(email: str, contents: bool = False, properties: bool = False) -> dict[str, Any]:
    return {
        "email": email,
        "can_edit_folder_contents": contents,
        "can_edit_folder_properties": properties,
    }


def _seed(sandbox: Sandbox, users: list[dict[str, Any]]) -> None:
    options = {
        "is_shared": True,
        "shared_with_all_users": False,
        "group_can_edit_contents": True,
        "group_can_edit_properties": True,
        "shared_with": users,
    }
    folder = {"guid": CRIT, "name": "crit", "owner": "owner@x.com", "shared_options": options}
    sandbox.state["bitsight"] = {"folders": [folder], "forbidden": []}


def _live_users(sandbox: Sandbox) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = sandbox.state["bitsight"]["folders"][0]["shared_options"][
        "shared_with"
    ]
    return users


MANIFEST = f"""
apiVersion: reconciler/v1
kind: BitsightFolderSharing
spec:
  folder_guid: {CRIT}
  is_shared: true
  shared_with_users:
    - {{email: alice@x.com, can_edit_folder_contents: true}}
    - {{email: bob@x.com}}
"""


def _config(ws: Workspace, until: date, member: str | None = "mallory@x.com") -> None:
    entry = [
        "ignore:",
        '  - address: "bitsight/BitsightFolderSharing/fcc8*"',
    ]
    if member:
        entry.append(f"    member: {member}")
    entry += [
        '    reason: "Vendor ticket 4411: the auditor is added back"',
        "    owner: secops@acme.com",
        f"    until: {until.isoformat()}",
    ]
    ws.config(settings="\n".join(entry))


def _entry_line(ws: Workspace) -> int:
    lines = (ws.root / "reconciler.yaml").read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if "- address:" in line)


def _ran(cli: Any, *args: str) -> Ran:
    ran: Ran = cli(*args)
    return ran


@pytest.fixture
def drifted(sandbox: Sandbox, ws: Workspace) -> date:
    """Live state with a user added out of band; an ignore for that user for 30 days."""
    _seed(
        sandbox,
        [_user("alice@x.com", contents=True), _user("bob@x.com"), _user("mallory@x.com")],
    )
    ws.write("f.yaml", MANIFEST)
    until = (clock.now() + timedelta(days=30)).date()
    _config(ws, until)
    return until


def test_active_ignore_hides_the_difference_from_drift_and_plan(
    drifted: date, ws: Workspace, cli: Any
) -> None:
    drift = _ran(cli, "drift", str(ws.root))
    assert drift.code == 0, drift.out + drift.err
    assert "Ignored:" in drift.out
    assert (
        f"  {ADDRESS}: member mallory@x.com (remove) (owner secops@acme.com, until "
        f"{drifted.isoformat()}): Vendor ticket 4411: the auditor is added back"
    ) in drift.out
    assert drift.err == ""
    plan = _ran(cli, "plan", str(ws.root), "--detailed-exitcode")
    assert plan.code == 0 and "No changes." in plan.out and "Ignored:" in plan.out
    doc = json.loads(_ran(cli, "plan", str(ws.root), "--format", "json").out)
    assert doc["changes"] == []
    assert doc["ignored"] == [
        {
            "address": ADDRESS,
            "what": "member mallory@x.com (remove)",
            "owner": "secops@acme.com",
            "reason": "Vendor ticket 4411: the auditor is added back",
            "until": drifted.isoformat(),
            "source": f"{ws.root / 'reconciler.yaml'}:{_entry_line(ws)}:7",
        }
    ]
    report = json.loads(_ran(cli, "drift", str(ws.root), "--format", "json").out)
    assert report["ignored"] == doc["ignored"]
    md = _ran(cli, "plan", str(ws.root), "--format", "markdown").out
    assert "#### Ignored" in md and r"| secops\@acme\.com |" in md


def test_expired_ignore_brings_the_difference_back_with_a_warning(
    drifted: date, ws: Workspace, cli: Any, sandbox: Sandbox
) -> None:
    after = datetime.combine(drifted, datetime.min.time(), UTC) + timedelta(hours=1)
    where = f"{ws.root / 'reconciler.yaml'}:{_entry_line(ws)}:7"
    warning = (
        f"{where}: warning: ignore for bitsight/BitsightFolderSharing/fcc8* (member "
        f"mallory@x.com) expired on {drifted.isoformat()} (owner secops@acme.com): its "
        "differences are back"
    )
    at = clock.show(after)
    drift = _ran(cli, "drift", str(ws.root), "--at", at)
    plan = _ran(cli, "plan", str(ws.root), "--at", at)
    with clock.frozen(after):  # validate has no --at: it reads the clock
        valid = _ran(cli, "validate", str(ws.root))
        as_json = _ran(cli, "validate", str(ws.root), "--format", "json")
        github = _ran(cli, "validate", str(ws.root), "--format", "github")
    assert drift.code == 2, drift.out + drift.err
    assert "mallory@x.com" in drift.out and "Ignored:" not in drift.out
    assert warning in drift.err.splitlines()
    assert plan.code == 0 and "- member mallory@x.com" in plan.out
    assert warning in plan.err.splitlines()
    assert valid.code == 0 and warning in valid.err.splitlines()
    (problem,) = json.loads(as_json.out)
    assert problem["severity"] == "warning" and problem["rule"] == "ignore-expired"
    assert "owner secops@acme.com" in problem["message"]
    assert as_json.code == 0 and github.code == 0
    assert github.out.startswith(f"::warning file={ws.root / 'reconciler.yaml'},line=")
    assert sandbox.writes() == []


def test_unmatched_ignore_warns_after_reading_live_state(
    sandbox: Sandbox, ws: Workspace, cli: Any
) -> None:
    _seed(sandbox, [_user("alice@x.com", contents=True), _user("bob@x.com")])
    ws.write("f.yaml", MANIFEST)
    _config(ws, (clock.now() + timedelta(days=10)).date(), member="nobody@x.com")
    drift = _ran(cli, "drift", str(ws.root))
    assert drift.code == 0, drift.out + drift.err
    assert "(member nobody@x.com) matches nothing" in drift.err
    assert "owner secops@acme.com" in drift.err
    # validate is offline: it cannot know, and says nothing.
    assert _ran(cli, "validate", str(ws.root)).err == ""


def test_apply_with_a_member_ignore_leaves_that_member_alone(
    sandbox: Sandbox, ws: Workspace, cli: Any
) -> None:
    # bob's rights were raised out of band (ignored: contents, not a manager's right); carol
    # is a real change to apply.
    _seed(sandbox, [_user("alice@x.com", contents=True), _user("bob@x.com", contents=True)])
    ws.write("f.yaml", MANIFEST + "    - {email: carol@x.com}\n")
    _config(ws, (clock.now() + timedelta(days=10)).date(), member="bob@x.com")
    plan = _ran(cli, "plan", str(ws.root))
    assert "+ member carol@x.com" in plan.out and "~ member bob" not in plan.out
    assert "member bob@x.com (change)" in plan.out
    saved = ws.root / "plan.json"
    assert _ran(cli, "plan", str(ws.root), "--out", str(saved)).code == 0
    loaded = planfile.loads(saved.read_text(), str(saved))
    assert [i.what for i in loaded.ignored] == ["member bob@x.com (change)"]
    assert "Ignored:" in render_plan(loaded) and "#### Ignored" in render_markdown(loaded)
    applied = _ran(cli, "apply", str(ws.root), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert _live_users(sandbox) == [
        _user("alice@x.com", contents=True),
        _user("bob@x.com", contents=True),
        _user("carol@x.com"),
    ]
    (patch,) = sandbox.writes()
    sent = patch.body["shared_options"]["shared_with_users"]
    assert _user("bob@x.com", contents=True) in sent
