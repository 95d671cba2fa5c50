"""The engine's pure rules, on model values alone: diff, the safety thresholds, --target."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.core.errors import UnsafePlanError
from reconciler.core.model import (
    Action,
    Change,
    FieldChange,
    KindSpec,
    LiveObject,
    MemberChange,
    Plan,
    Resource,
    Source,
)
from reconciler.core.settings import Safety
from reconciler.engine.diff import diff
from reconciler.engine.read import select
from reconciler.governance.safety import check_safety
from reconciler.plugin.registry import kind_spec

PLAIN = KindSpec("Thing", ("name",), replace_fields=("home",))
SHARES = KindSpec("Shared", ("folder",), members_field="members")
SRC = Source("m.yaml", 3, 1)


def resource(
    desired: dict[str, Any], kind: str = "Thing", mode: str = "authoritative", *identity: str
) -> Resource:
    return Resource(
        kind, "p", identity or ("a",), desired, SRC, members_mode=mode, scope="s", labels={}
    )


def live(state: dict[str, Any], *identity: str) -> LiveObject:
    return LiveObject(identity or ("a",), state, handle={"id": "7"}, revision=4)


# ---- diff ----


def test_absent_object_is_a_create_of_the_desired_state() -> None:
    r = resource({"name": "a", "size": 1})
    change = diff(PLAIN, r, None)
    assert change is not None
    assert change.action is Action.CREATE
    assert change.desired == {"name": "a", "size": 1}
    assert change.live is None and change.fingerprint is None
    assert change.managed == ["name", "size"]
    assert change.source == SRC and change.scope == "s"
    assert change.address == "p/Thing/a"


def test_equal_managed_fields_are_in_sync_whatever_else_lives() -> None:
    r = resource({"name": "a", "size": 1})
    assert diff(PLAIN, r, live({"name": "a", "size": 1, "unmanaged": "x"})) is None


def test_changed_field_is_an_update_keeping_unmanaged_fields() -> None:
    obj = live({"name": "a", "size": 1, "colour": "red", "unmanaged": "x"})
    change = diff(PLAIN, resource({"name": "a", "size": 2, "colour": "red"}), obj)
    assert change is not None
    assert change.action is Action.UPDATE
    assert change.fields == [FieldChange("size", 1, 2)]
    assert change.desired == {"name": "a", "size": 2, "colour": "red", "unmanaged": "x"}
    assert change.live is obj and change.revision == 4
    # The fingerprint covers the managed fields only.
    assert change.managed == ["colour", "name", "size"]
    other = live({"name": "a", "size": 1, "colour": "red", "unmanaged": "y"})
    again = diff(PLAIN, resource({"name": "a", "size": 2, "colour": "red"}), other)
    assert again is not None and again.fingerprint == change.fingerprint


def test_field_missing_live_is_a_change_from_none() -> None:
    change = diff(PLAIN, resource({"name": "a", "size": 2}), live({"name": "a"}))
    assert change is not None and change.fields == [FieldChange("size", None, 2)]


def test_change_of_a_replace_field_is_a_replace() -> None:
    change = diff(PLAIN, resource({"name": "a", "home": "B"}), live({"name": "a", "home": "A"}))
    assert change is not None
    assert change.action is Action.REPLACE
    assert change.fields == [FieldChange("home", "A", "B")]


def test_replace_field_with_other_changes_is_still_a_replace() -> None:
    change = diff(
        PLAIN,
        resource({"name": "a", "home": "B", "size": 2}),
        live({"name": "a", "home": "A", "size": 1}),
    )
    assert change is not None and change.action is Action.REPLACE
    assert [f.field for f in change.fields] == ["home", "size"]


def test_authoritative_members_add_change_and_remove() -> None:
    have = {"g1": "view", "g2": "edit", "g3": "view"}
    want = {"g1": "view", "g2": "view", "g4": "edit"}
    change = diff(
        SHARES,
        resource({"folder": "f", "members": want}, "Shared"),
        live({"folder": "f", "members": have}),
    )
    assert change is not None and change.action is Action.UPDATE
    assert change.fields == []
    assert change.members == [
        MemberChange("change", "g2", "edit", "view"),
        MemberChange("remove", "g3", "view", None),
        MemberChange("add", "g4", None, "edit"),
    ]
    assert change.desired is not None and change.desired["members"] == want


def test_additive_members_never_remove_and_keep_the_others() -> None:
    have = {"g1": "view", "g2": "edit", "g3": "view"}
    want = {"g2": "view", "g4": "edit"}
    change = diff(
        SHARES,
        resource({"folder": "f", "members": want}, "Shared", "additive"),
        live({"folder": "f", "members": have}),
    )
    assert change is not None
    assert change.members == [
        MemberChange("change", "g2", "edit", "view"),
        MemberChange("add", "g4", None, "edit"),
    ]
    assert change.desired is not None
    assert change.desired["members"] == {"g1": "view", "g2": "view", "g3": "view", "g4": "edit"}


def test_additive_members_with_only_extra_live_members_are_in_sync() -> None:
    change = diff(
        SHARES,
        resource({"folder": "f", "members": {"g1": "view"}}, "Shared", "additive"),
        live({"folder": "f", "members": {"g1": "view", "g2": "edit"}}),
    )
    assert change is None


def test_authoritative_members_with_no_live_list_add_every_member() -> None:
    change = diff(
        SHARES,
        resource({"folder": "f", "members": {"g1": "view"}}, "Shared"),
        live({"folder": "f"}),
    )
    assert change is not None
    assert change.members == [MemberChange("add", "g1", None, "view")]


def test_members_and_fields_change_together() -> None:
    change = diff(
        SHARES,
        resource({"folder": "f", "title": "T2", "members": {}}, "Shared"),
        live({"folder": "f", "title": "T1", "members": {"g1": "view"}}),
    )
    assert change is not None
    assert change.fields == [FieldChange("title", "T1", "T2")]
    assert change.members == [MemberChange("remove", "g1", "view", None)]


def test_labels_merge_manifest_and_live_names() -> None:
    r = resource({"folder": "f", "members": {"g1": "view", "g2": "view"}}, "Shared")
    r.labels = {"g1": "Ops"}
    obj = live({"folder": "f", "members": {}})
    obj.labels = {"g2": "Sales"}
    change = diff(SHARES, r, obj)
    assert change is not None and change.labels == {"g1": "Ops", "g2": "Sales"}


# ---- check_safety ----
# Counts are per (provider, kind), against what was read live; the kinds are real ones so
# that the engine finds their specs in the registry.

ROLE = "KlipfolioRole"
RIGHTS = "KlipfolioClientShareRights"


def change(action: Action, kind: str = ROLE, provider: str = "kf", n: int = 0) -> Change:
    return Change(action, kind, provider, ("c", f"r{n}"), None, None, managed=[])


def members(*actions: str, kind: str = RIGHTS, provider: str = "kf", n: int = 0) -> Change:
    ms = [MemberChange(a, f"g{i}", None, None) for i, a in enumerate(actions)]
    return Change(Action.UPDATE, kind, provider, (f"c{n}",), None, None, [], members=ms)


def plan(changes: list[Change], existing: dict[tuple[str, str], int]) -> Plan:
    return Plan(changes, [], "sha256:x", existing)


def many(action: Action, count: int, **kw: Any) -> list[Change]:
    return [change(action, n=i, **kw) for i in range(count)]


SAFETY = Safety(max_delete_percent=30, max_update_percent=20, min_existing=10)


def test_safety_kinds_are_what_the_tests_assume() -> None:
    assert kind_spec(ROLE).members_field is None
    assert kind_spec(RIGHTS).members_field


@pytest.mark.parametrize("action", [Action.DELETE, Action.REPLACE])
def test_deletes_exactly_at_the_percent_pass_and_one_more_is_refused(action: Action) -> None:
    check_safety(plan(many(action, 3), {("kf", ROLE): 10}), SAFETY)
    with pytest.raises(UnsafePlanError) as exc:
        check_safety(plan(many(action, 4), {("kf", ROLE): 10}), SAFETY)
    message = str(exc.value)
    assert "4 of 10 (40%) KlipfolioRole deletes exceed max_delete_percent 30" in message
    assert "(provider kf)" in message and "--force" in message


def test_updates_have_their_own_threshold() -> None:
    check_safety(plan(many(Action.UPDATE, 2), {("kf", ROLE): 10}), SAFETY)
    with pytest.raises(UnsafePlanError, match="3 of 10 \\(30%\\) KlipfolioRole updates exceed"):
        check_safety(plan(many(Action.UPDATE, 3), {("kf", ROLE): 10}), SAFETY)


def test_creates_never_count() -> None:
    check_safety(plan(many(Action.CREATE, 50), {("kf", ROLE): 10}), SAFETY)


def test_below_min_existing_anything_goes() -> None:
    check_safety(plan(many(Action.DELETE, 9), {("kf", ROLE): 9}), SAFETY)
    with pytest.raises(UnsafePlanError):
        check_safety(plan(many(Action.DELETE, 10), {("kf", ROLE): 10}), SAFETY)


def test_min_existing_zero_still_skips_an_empty_kind() -> None:
    safety = Safety(max_delete_percent=30, max_update_percent=30, min_existing=0)
    check_safety(plan([], {("kf", ROLE): 0}), safety)
    with pytest.raises(UnsafePlanError):
        check_safety(plan(many(Action.DELETE, 1), {("kf", ROLE): 1}), safety)


def test_counts_are_per_provider_and_kind() -> None:
    existing = {("kf", ROLE): 10, ("kf2", ROLE): 10, ("kf", RIGHTS): 10}
    # 3 deletes in each of three places: each at 30%, none over.
    changes = (
        many(Action.DELETE, 3)
        + many(Action.DELETE, 3, provider="kf2")
        + [members("remove", "remove", "remove")]
    )
    check_safety(plan(changes, existing), SAFETY)
    # One more in one provider is refused, and names that provider only.
    with pytest.raises(UnsafePlanError) as exc:
        check_safety(plan(changes + [change(Action.DELETE, provider="kf2", n=9)], existing), SAFETY)
    assert "(provider kf2)" in str(exc.value) and "(provider kf)" not in str(exc.value)


def test_member_removals_count_as_deletes_and_changes_as_updates() -> None:
    existing = {("kf", RIGHTS): 10}
    # One object's update, but four members removed of ten: over 30%.
    with pytest.raises(
        UnsafePlanError, match="4 of 10 \\(40%\\) KlipfolioClientShareRights deletes"
    ):
        check_safety(plan([members("remove", "remove", "remove", "remove")], existing), SAFETY)
    # Removals spread over objects add up.
    spread = [members("remove", "remove", n=1), members("remove", "remove", n=2)]
    with pytest.raises(UnsafePlanError, match="deletes exceed"):
        check_safety(plan(spread, existing), SAFETY)
    # Adds never count; changes count against the update threshold.
    check_safety(plan([members("add", "add", "add", "add", "change", "change")], existing), SAFETY)
    with pytest.raises(
        UnsafePlanError, match="3 of 10 \\(30%\\) KlipfolioClientShareRights updates"
    ):
        check_safety(plan([members("change", "change", "change")], existing), SAFETY)


def test_every_refusal_is_reported_at_once() -> None:
    existing = {("kf", ROLE): 10, ("kf2", ROLE): 10}
    changes = many(Action.DELETE, 5) + many(Action.UPDATE, 5, provider="kf2")
    with pytest.raises(UnsafePlanError) as exc:
        check_safety(plan(changes, existing), SAFETY)
    assert "deletes exceed" in str(exc.value) and "updates exceed" in str(exc.value)


# ---- select (--target) ----


def test_select_without_targets_reads_everything() -> None:
    rs = [resource({}, "Thing", "authoritative", "a"), resource({}, "Thing", "authoritative", "b")]
    assert select(rs, []) == rs


def test_select_with_declared_targets_reads_just_those() -> None:
    rs = [resource({}, "Thing", "authoritative", n) for n in ("a", "b", "c")]
    assert select(rs, ["p/Thing/b"]) == [rs[1]]
    assert select(rs, ["p/Thing/c", "p/Thing/a"]) == [rs[0], rs[2]]


def test_select_with_an_undeclared_target_reads_everything() -> None:
    # It may be an undeclared object that pruning would delete: only a full read finds it.
    rs = [resource({}, "Thing", "authoritative", n) for n in ("a", "b")]
    assert select(rs, ["p/Thing/a", "p/Thing/zzz"]) == rs
