"""`--target` takes any spelling validation accepts; a targeted plan says it is partial."""

from __future__ import annotations

import pytest

from reconciler.sandbox import Sandbox
from tests.support.harness import RunCli, Workspace
from tests.vendors.klipfolio.test_provider import ACME
from tests.vendors.salesforce.test_provider import (
    ADDR,
    BOARDS,
    REPORTS,
    USER,
    _folder,
    _manifest,
    _share,
)

SHARES = f"    - {{share_type: user, shared_with_id: {USER}, access_type: edit}}\n"


@pytest.fixture
def folders(sandbox: Sandbox, ws: Workspace) -> Sandbox:
    sandbox.state["salesforce"] = {
        "org_id": "00D5e000000OrGz",
        "folders": [
            _folder(REPORTS, [_share("0045e000000Sh01AAC", "view", "user", USER)]),
            _folder(BOARDS, [_share("0045e000000Sh02AAC", "edit", "user", USER)]),
        ],
    }
    ws.config()
    ws.write("r.yaml", _manifest(REPORTS, SHARES))
    ws.write("b.yaml", _manifest(BOARDS[:15], SHARES))  # declared by its 15-character id
    return sandbox


@pytest.mark.parametrize("spelling", [REPORTS[:15], REPORTS, REPORTS.lower()])
def test_a_salesforce_id_matches_in_any_spelling_validation_accepts(
    folders: Sandbox, ws: Workspace, cli: RunCli, spelling: str
) -> None:
    res = cli(
        "plan", str(ws.root), "--no-color", "--target", f"{ADDR.rsplit('/', 1)[0]}/{spelling}"
    )
    assert res.code == 0, res.err
    assert f"~ {ADDR}" in res.out
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in res.out
    assert "Targeted plan: only 1 of 2 objects were compared." in res.out


def test_targeted_plan_without_changes_says_it_is_partial(
    folders: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    target = f"salesforce/SalesforceFolderShares/{BOARDS[:15]}"
    res = cli("plan", str(ws.root), "--no-color", "--target", target, "--detailed-exitcode")
    assert res.code == 0, res.err
    assert "Live state matches the manifests" not in res.out
    assert res.out.rstrip().endswith(
        "No changes among the targets. Targeted plan: only 1 of 2 objects were compared."
    )
    md = cli("plan", str(ws.root), "--format", "markdown", "--target", target)
    assert "Targeted plan: only 1 of 2 objects were compared." in md.out
    untargeted = cli("plan", str(ws.root), "--no-color")
    assert "Targeted plan" not in untargeted.out


def test_apply_target_by_15_character_id_writes_only_that_folder(
    folders: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    target = f"salesforce/SalesforceFolderShares/{REPORTS[:15]}"
    res = cli("apply", str(ws.root), "--auto-approve", "--target", target, "--no-color")
    assert res.code == 0, res.err
    assert {w.path.split("/folders/")[1].split("/")[0] for w in folders.writes()} == {REPORTS}


def test_unknown_target_is_named_as_given(folders: Sandbox, ws: Workspace, cli: RunCli) -> None:
    res = cli("plan", str(ws.root), "--target", "salesforce/SalesforceFolderShares/00l5e000009Zzzz")
    assert res.code == 1
    assert "--target salesforce/SalesforceFolderShares/00l5e000009Zzzz matches no" in res.err


def test_company_and_client_roles_are_targeted_by_their_addresses(
    sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    sandbox.state["klipfolio"] = {"roles": [], "clients": [{"id": ACME, "name": "Acme"}]}
    ws.config()
    ws.write(
        "r.yaml",
        "apiVersion: reconciler/v1\nkind: KlipfolioRole\nspec: {name: Finance/Ops}\n---\n"
        f"apiVersion: reconciler/v1\nkind: KlipfolioRole\nspec: {{client_id: {ACME}, name: V}}\n",
    )
    company = cli(
        "plan", str(ws.root), "--no-color", "--target", "klipfolio/KlipfolioRole/Finance%2FOps"
    )
    assert company.code == 0, company.err
    assert "+ klipfolio/KlipfolioRole/Finance%2FOps" in company.out
    assert f"klipfolio/KlipfolioRole/{ACME}/V" not in company.out
    client = cli(
        "plan", str(ws.root), "--no-color", "--target", f"klipfolio/KlipfolioRole/{ACME}/V"
    )
    assert client.code == 0, client.err
    assert f"+ klipfolio/KlipfolioRole/{ACME}/V" in client.out
    assert "Targeted plan: only 1 of 2 objects were compared." in client.out
