"""`export` into a shared directory: each provider adds its own files, only an overwrite is
refused; ids are named in comments (Klipfolio groups, Salesforce recipients); the output is
stable and plans clean."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from reconciler.commands.export import manifests
from reconciler.commands.session import SEED
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import load_state
from tests.support.harness import Ran, RunCli, Workspace

STATE = load_state(SEED)


def _seed(sandbox: Sandbox, *vendors: str) -> None:
    for vendor in vendors:
        sandbox.state[vendor] = copy.deepcopy(STATE[vendor])


def _export(cli: RunCli, ws: Workspace, alias: str, out: Path, *extra: str) -> Ran:
    config = str(ws.root / "reconciler.yaml")
    return cli("export", "--config", config, "--provider", alias, "--out", str(out), *extra)


def test_providers_add_their_files_to_one_directory(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    _seed(sandbox, "klipfolio", "salesforce")
    ws.config()
    out = tmp_path / "access"
    out.mkdir()
    (out / "README.md").write_text("ours\n")
    assert _export(cli, ws, "klipfolio", out).code == 0
    res = _export(cli, ws, "salesforce", out)
    assert res.code == 0, res.err
    assert sorted(p.name for p in out.iterdir()) == [
        "KlipfolioClientShareRights.yaml",
        "KlipfolioRole.yaml",
        "README.md",
        "SalesforceFolderShares.yaml",
    ]
    (out / "reconciler.yaml").write_text((ws.root / "reconciler.yaml").read_text())
    again = cli("plan", str(out), "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert sandbox.writes() == []


def test_only_an_overwrite_is_refused_naming_the_file(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    _seed(sandbox, "klipfolio")
    ws.config()
    out = tmp_path / "access"
    assert _export(cli, ws, "klipfolio", out, "--kind", "KlipfolioRole").code == 0
    roles = (out / "KlipfolioRole.yaml").read_text()
    # Another kind of the same provider is added without --force.
    res = _export(cli, ws, "klipfolio", out, "--kind", "KlipfolioClientShareRights")
    assert res.code == 0, res.err
    (out / "KlipfolioRole.yaml").write_text("# edited by hand\n")
    before = len(sandbox.log)
    refused = _export(cli, ws, "klipfolio", out)
    assert refused.code == 1
    assert "would overwrite" in refused.err and str(out / "KlipfolioRole.yaml") in refused.err
    assert str(out / "KlipfolioClientShareRights.yaml") in refused.err
    assert "--force" in refused.err
    assert len(sandbox.log) == before, "refused before any request"
    assert (out / "KlipfolioRole.yaml").read_text() == "# edited by hand\n"
    assert _export(cli, ws, "klipfolio", out, "--force").code == 0
    assert (out / "KlipfolioRole.yaml").read_text() == roles


def test_two_accounts_of_one_vendor_export_side_by_side(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    _seed(sandbox, "klipfolio")
    url = sandbox.base_urls()["klipfolio"]
    with Sandbox() as eu:  # a second account: one account has one alias
        _seed(eu, "klipfolio")
        config = ws.write(
            "reconciler.yaml",
            f"""
            apiVersion: reconciler/v1
            kind: Config
            providers:
              klipfolio: {{type: klipfolio, base_url: "{url}"}}
              kf-eu: {{type: klipfolio, base_url: "{eu.base_urls()["klipfolio"]}"}}
            """,
        )
        out = tmp_path / "access"
        for alias in ("klipfolio", "kf-eu"):
            res = cli("export", "--config", str(config), "--provider", alias, "--out", str(out))
            assert res.code == 0, res.err
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "KlipfolioClientShareRights.yaml",
        "KlipfolioRole.yaml",
        "kf-eu-KlipfolioClientShareRights.yaml",
        "kf-eu-KlipfolioRole.yaml",
    ]
    assert "provider: kf-eu" in (out / "kf-eu-KlipfolioRole.yaml").read_text()


def test_groups_and_recipients_are_named_in_comments(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    _seed(sandbox, "klipfolio", "salesforce")
    ws.config()
    out = tmp_path / "access"
    assert _export(cli, ws, "klipfolio", out).code == 0
    assert _export(cli, ws, "salesforce", out).code == 0
    rights = (out / "KlipfolioClientShareRights.yaml").read_text()
    assert "- group_id: 1a2b3c4d5e6f4a7b8c9d0e1f2a3b4c5d  # Finance\n" in rights
    assert "- group_id: 4d5e6f7a8b9c4d0e1f2a3b4c5d6e7f8a  # Support\n" in rights
    shares = (out / "SalesforceFolderShares.yaml").read_text()
    assert "shared_with_id: 00G5e000001SaLsEAK  # Sales Team\n" in shares
    assert "shared_with_id: 0055e000003JaNeAAK  # Jane Doe\n" in shares
    assert "reconciler-note" not in rights + shares
    # The comments are only comments: the documents hold no note keys.
    for text in (rights, shares):
        for doc in yaml.safe_load_all(text):
            assert "#" not in repr(doc["spec"]), doc


def test_export_is_stable(sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path) -> None:
    _seed(sandbox, "klipfolio", "salesforce", "bitsight")
    ws.config()
    first, second = tmp_path / "a", tmp_path / "b"
    for alias in ("klipfolio", "salesforce", "bitsight"):
        assert _export(cli, ws, alias, first).code == 0
    # The same live objects listed in another order export to the same bytes.
    for vendor in ("klipfolio", "salesforce", "bitsight"):
        for value in sandbox.state[vendor].values():
            if isinstance(value, list):
                value.reverse()
    for alias in ("klipfolio", "salesforce", "bitsight"):
        assert _export(cli, ws, alias, second).code == 0
    for path in sorted(first.iterdir()):
        assert (second / path.name).read_text() == path.read_text(), path.name


def test_notes_are_one_comment_line_and_never_data() -> None:
    specs = [
        {
            "client_id": "c1",
            "groups": [
                {"group_id": "0012", "#group_id": "Ops\nteam: x # y\x85z", "can_manage": True},
                {"group_id": "g2", "#group_id": None, "can_manage": False},
            ],
        }
    ]
    text = manifests("KlipfolioClientShareRights", "klipfolio", specs, ("client_id",))
    assert "- group_id: '0012'  # Ops team: x # y z\n" in text
    assert "- group_id: g2\n" in text
    (doc,) = yaml.safe_load_all(text)
    assert doc["spec"] == {
        "client_id": "c1",
        "groups": [
            {"group_id": "0012", "can_manage": True},
            {"group_id": "g2", "can_manage": False},
        ],
    }
