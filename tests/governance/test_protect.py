"""Protection from prune (SPEC §5.4): `settings.protect` globs keep undeclared objects."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from reconciler.core.model import Action, Change, LiveObject
from reconciler.governance import protect
from reconciler.sandbox import Sandbox
from tests.support.harness import Ran, Workspace

Cli = Callable[..., Ran]

ROLES = """
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: Viewers
  description: v
  permissions: [klip.email]
"""
KEPT = "klipfolio/KlipfolioRole/Break Glass"
PRUNED = "klipfolio/KlipfolioRole/Old"
PRUNE = "klipfolio.prune: [roles]"
PROTECT = 'protect: ["klipfolio/KlipfolioRole/Break*"]'


@pytest.fixture
def roles(sandbox: Sandbox, ws: Workspace) -> Sandbox:
    sandbox.state["klipfolio"] = {
        "roles": [
            {"id": "1" * 32, "name": "Viewers", "description": "v", "permissions": ["klip.email"]},
            {"id": "2" * 32, "name": "Old", "description": "", "permissions": ["klip.edit"]},
            {"id": "3" * 32, "name": "Break Glass", "description": "", "permissions": []},
        ],
    }
    ws.write("roles.yaml", ROLES)
    return sandbox


def test_glob_matches_addresses_case_sensitively() -> None:
    assert protect.matches(KEPT, ["klipfolio/KlipfolioRole/Break*"]) == (
        "klipfolio/KlipfolioRole/Break*"
    )
    assert protect.matches(KEPT, ["klipfolio/KlipfolioRole/break*", "golem/*"]) is None
    assert protect.matches("golem/GolemPermissionShare/o/ci", ["golem/*/o/?i"]) == "golem/*/o/?i"


def test_saved_plan_refusal_names_the_glob() -> None:
    live = LiveObject(("", "Break Glass"), {"description": ""})
    delete = Change(
        Action.DELETE, "KlipfolioRole", "klipfolio", ("", "Break Glass"), None, live, []
    )
    why = protect.refusal(delete, ("klipfolio/KlipfolioRole/Break*",))
    assert why is not None and "settings.protect 'klipfolio/KlipfolioRole/Break*'" in why
    assert protect.refusal(delete, ("golem/*",)) is None


def test_protect_glob_keeps_an_undeclared_object_from_prune(
    roles: Sandbox, ws: Workspace, cli: Cli
) -> None:
    ws.config(providers=PRUNE, settings=PROTECT)
    res = cli("plan", str(ws.root), "--no-color")
    assert res.code == 0, res.err
    assert f"- {PRUNED}" in res.out and f"- {KEPT}" not in res.out
    assert f"Protected from prune:\n  = {KEPT}" in res.out
    doc = json.loads(cli("plan", str(ws.root), "--format", "json").out)
    assert doc["protected"] == [KEPT]
    assert [c["address"] for c in doc["changes"]] == [PRUNED]
    assert "Protected from prune" in cli("plan", str(ws.root), "--format", "markdown").out

    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.err
    names = sorted(r["name"] for r in roles.state["klipfolio"]["roles"])
    assert names == ["Break Glass", "Viewers"]


def test_without_protect_the_object_is_pruned(roles: Sandbox, ws: Workspace, cli: Cli) -> None:
    ws.config(providers=PRUNE)
    res = cli("plan", str(ws.root), "--no-color")
    assert f"- {KEPT}" in res.out and "Protected from prune" not in res.out


def test_saved_plan_deleting_a_protected_object_is_refused_even_forced(
    roles: Sandbox, ws: Workspace, cli: Cli
) -> None:
    ws.config(providers=PRUNE)
    out = ws.root / "plan.json"
    assert cli("plan", str(ws.root), "--out", str(out)).code == 0
    ws.config(providers=PRUNE, settings=PROTECT)  # the config in force at apply time
    res = cli("apply", str(out), "--config", str(ws.root / "reconciler.yaml"), "--force")
    assert res.code == 1
    assert f"{KEPT}: is protected from prune" in res.err
    assert roles.writes() == []


@pytest.mark.parametrize("providers", [PRUNE, ""])
def test_drift_reports_protected_objects_as_protected_not_drift(
    roles: Sandbox, ws: Workspace, cli: Cli, providers: str
) -> None:
    ws.config(providers=providers, settings='protect: ["klipfolio/KlipfolioRole/*"]')
    res = cli("drift", str(ws.root), "--no-color")
    assert res.code == 0, res.out + res.err
    assert KEPT in res.out and PRUNED in res.out


def test_protect_and_ignore_globs_read_alike() -> None:
    from reconciler.core.model import address_glob
    from reconciler.governance import protect

    address = "klipfolio/KlipfolioRole/Ops [EU]"
    # `[` is a character of the address, never a class: the glob names the role as written.
    assert protect.matches(address, ["klipfolio/KlipfolioRole/Ops [EU]"]) is not None
    assert (
        protect.matches("klipfolio/KlipfolioRole/Ops E", ["klipfolio/KlipfolioRole/Ops [EU]"])
        is None
    )
    assert address_glob("klipfolio/*/Ops ?EU?").fullmatch(address)
