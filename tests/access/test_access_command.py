"""`reconciler access` (docs/access.md): rows from the example workspace on the sandbox,
the reads `plan` makes and the few the report adds, `--desired` offline, formats that
agree, Person documents, the workspace and commit in the header."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from reconciler.access import origin
from reconciler.access.render import read_csv
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import load_state
from tests.support.harness import ENV, RunCli, Workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCHEMA = Path(__file__).resolve().parents[2] / "reconciler" / "_schemas" / "access.schema.json"
ACME = "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c"
GLOBEX = "7d1b8f2c0e3a5b7c9d1e3f5a7b9c1d3e"
FINANCE = "1a2b3c4d5e6f4a7b8c9d0e1f2a3b4c5d"
SALES = "2b3c4d5e6f7a4b8c9d0e1f2a3b4c5d6e"
SUPPORT = "4d5e6f7a8b9c4d0e1f2a3b4c5d6e7f8a"
CRITICAL = "bitsight/BitsightFolderSharing/fcc8b8c4-4fa3-4735-ac14-405ac7855d70"
CLOUD = "bitsight/BitsightFolderSharing/3f6d2a1e-8b4c-4e7f-9a0d-5c2b1e8f7a63"
PLATFORM = "golem/GolemPermissionShare/6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11"
DATA = "golem/GolemPermissionShare/2e8d4b6a-0c1f-4a3e-b5d7-9a1c3e5f7b22"
SF = "salesforce/SalesforceFolderShares"
KF = "/api/1"
AT = "2026-12-01"
"""Before every expiry the examples declare (they run up to a year ahead)."""

Rows = list[dict[str, Any]]


@pytest.fixture(autouse=True)
def _in_workspace(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in the workspace: `.` is its root."""
    monkeypatch.chdir(ws.root)


@pytest.fixture
def examples(ws: Workspace, sandbox: Sandbox) -> Workspace:
    """The example manifests and seed, with a config pointing at the sandbox."""
    for sub in ("klipfolio", "bitsight", "golem", "salesforce"):
        shutil.copytree(EXAMPLES / sub, ws.root / sub)
    shutil.copy(EXAMPLES / "people.yaml", ws.root / "people.yaml")
    ws.config(providers="klipfolio.prune: [roles]\ngolem.prune: [permission_shares]")
    sandbox.reset(load_state(EXAMPLES / "sandbox-state.yaml"))
    return ws


def _rows(cli: RunCli, *args: str) -> Rows:
    ran = cli("access", ".", "--format", "json", "--at", AT, *args)
    assert ran.code == 0, ran.err
    rows: Rows = json.loads(ran.out)["rows"]
    return rows


def _status(rows: Rows) -> dict[tuple[str, str, str], str]:
    return {(r["principal"], r["object"], r["access"]): r["status"] for r in rows}


def _requests(sandbox: Sandbox) -> Counter[tuple[str, str, str, str]]:
    return Counter((r.vendor, r.method, r.path, r.query) for r in sandbox.requests())


def test_every_grant_of_the_examples_appears_once_with_its_status(
    examples: Workspace, cli: RunCli
) -> None:
    rows = _rows(cli)
    keys = [(r["principal"], r["object"], r["access"], r["status"]) for r in rows]
    assert len(keys) == len(set(keys))
    status = _status(rows)
    acme = f"klipfolio/KlipfolioClientShareRights/{ACME}"
    globex = f"klipfolio/KlipfolioClientShareRights/{GLOBEX}"
    expected = {
        # declared and live alike
        ("email:alice.nguyen@acme.com", CRITICAL, "manage"): "in-sync",
        (
            "golem-account:0b9e2f47-8a1d-4e6b-b3c5-7f2e9d4a6b22",
            f"{DATA}/warehouse-readers",
            "grant",
        ): "in-sync",
        ("salesforce-group:00G5e000001FiNaEAK", f"{SF}/00l5e000002FiNmAAK", "edit"): "in-sync",
        ("salesforce-organization", f"{SF}/00l5e000002FiNmAAK", "view"): "in-sync",
        # live, not declared: revoked by the next apply, or kept by an additive list
        ("email:carol.old@acme.com", CRITICAL, "edit"): "live-only",
        ("email:finance.ops@acme.com", CLOUD, "view"): "live-only",
        ("bitsight-all-users", CLOUD, "view"): "live-only",
        (f"klipfolio-group:{SUPPORT}", acme, "manage"): "live-only",
        (f"klipfolio-group:{SUPPORT}", globex, "view"): "live-only",
        (
            "golem-account:8a6c4e2b-0d9f-4b7a-8c5e-2f4a6c8e0b66",
            f"{PLATFORM}/contractor-2023",
            "grant",
        ): "live-only",
        ("salesforce-organization", f"{SF}/00l5e000002SaLeAAK", "view"): "live-only",
        ("salesforce-user:0055e000003FoRmAAK", f"{SF}/00l5e000002SaLeAAK", "edit"): "live-only",
        # a level raised: the live level is not declared, the declared one not applied yet
        (f"klipfolio-group:{FINANCE}", acme, "view"): "live-only",
        (f"klipfolio-group:{FINANCE}", acme, "manage"): "declared-only",
        ("email:bob.martin@acme.com", CRITICAL, "view"): "live-only",
        ("email:bob.martin@acme.com", CRITICAL, "edit"): "declared-only",
        # declared, not applied yet
        (f"klipfolio-group:{SALES}", globex, "manage"): "declared-only",
        ("email:external.auditor@kpmg.example", CLOUD, "view"): "declared-only",
        (
            "golem-account:c7e4b2a9-1d6f-4b3e-a8c2-9f0d5e7b4a44",
            f"{PLATFORM}/on-call",
            "grant",
        ): "declared-only",
    }
    assert {k: status.get(k) for k in expected} == expected
    # Every row says where it comes from; persons join principals across vendors.
    assert all(r["source"] == "live" for r in rows if r["status"] == "live-only")
    assert all(":" in r["source"] for r in rows if r["status"] != "live-only")
    by_person = {r["principal"]: r["person"] for r in rows}
    assert by_person["email:alice.nguyen@acme.com"] == "Alice Nguyen"
    assert by_person[f"klipfolio-group:{FINANCE}"] == "Alice Nguyen"
    assert by_person["salesforce-user:0055e000003JaNeAAK"] == "Jane Doe"  # claimed by 15 chars
    assert by_person["email:carol.old@acme.com"] is None
    # Privileged as the guards see it: a manager, everyone, an admin permission.
    privileged = {(r["principal"], r["object"], r["access"]) for r in rows if r["privileged"]}
    assert ("email:alice.nguyen@acme.com", CRITICAL, "manage") in privileged
    assert ("bitsight-all-users", CLOUD, "view") in privileged
    assert ("salesforce-organization", f"{SF}/00l5e000002FiNmAAK", "view") in privileged
    assert ("email:bob.martin@acme.com", CRITICAL, "edit") not in privileged


def test_roles_are_listed_apart_with_their_admin_permissions(
    examples: Workspace, cli: RunCli
) -> None:
    ran = cli("access", ".", "--format", "json", "--at", AT)
    roles = {(r["object_label"], r["status"]): r for r in json.loads(ran.out)["roles"]}
    assert roles[("Dashboard Viewers", "in-sync")]["privileged"] == []
    assert roles[("Legacy Contractors", "live-only")]["source"] == "live"
    assert roles[("Sales Leads", "declared-only")]["scope"] == "company"


def test_access_makes_the_requests_plan_makes_and_only_the_reads_it_adds(
    examples: Workspace, cli: RunCli, sandbox: Sandbox
) -> None:
    assert cli("plan", ".", "--at", AT).code == 0
    planned = _requests(sandbox)
    sandbox.reset(load_state(EXAMPLES / "sandbox-state.yaml"))
    assert cli("access", ".", "--at", AT).code == 0
    reported = _requests(sandbox)
    # Every call plan makes, once, and beside them: each undeclared role read in full
    # (Admin, Legacy Contractors; plan lists them for prune but needs no permissions),
    # the client accounts' names and the folders' names.
    assert reported - planned == Counter(
        {
            ("klipfolio", "GET", f"{KF}/roles/9f8e7d6c5b4a49382716051423324150", "full=true"): 1,
            ("klipfolio", "GET", f"{KF}/roles/6c5b4a3948474e3d2c1b0a9f8e7d6c5b", "full=true"): 1,
            ("klipfolio", "GET", f"{KF}/clients", "limit=100&offset=0"): 1,
            ("salesforce", "GET", "/services/data/v60.0/folders", ""): 1,
        }
    )
    assert not planned - reported
    assert planned and not sandbox.writes()


def test_desired_reads_the_manifests_alone_with_no_request_and_no_credential(
    examples: Workspace, cli: RunCli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for env in ENV.values():
        monkeypatch.delenv(env, raising=False)
    rows = _rows(cli, "--desired")
    assert sandbox.requests() == []
    assert rows and {r["status"] for r in rows} == {"declared-only"}
    # Offline, a group named in the manifest keeps its name: no id is looked up.
    assert "klipfolio-group:name:Finance" in {r["principal"] for r in rows}
    assert {r["person"] for r in rows if r["principal"] == "klipfolio-group:name:Finance"} == {
        "Alice Nguyen"
    }


IN_SYNC = f"""
apiVersion: reconciler/v1
kind: KlipfolioClientShareRights
spec:
  client_id: {ACME}
  groups:
    - {{group_id: {FINANCE}, can_manage: false}}
    - {{group_id: {SUPPORT}, can_manage: true}}
"""


def test_an_out_of_band_grant_is_live_only_and_exits_2(
    examples: Workspace, cli: RunCli, sandbox: Sandbox
) -> None:
    for sub in ("klipfolio", "bitsight", "golem", "salesforce"):
        shutil.rmtree(examples.root / sub)
    examples.write("acme.yaml", IN_SYNC)
    ran = cli("access", ".", "--detailed-exitcode", "--format", "json")
    assert ran.code == 0, ran.err
    assert {r["status"] for r in json.loads(ran.out)["rows"]} == {"in-sync"}
    # Someone shares Acme with Sales in Klipfolio itself, through its API.
    url = sandbox.base_urls()["klipfolio"]
    answer = httpx.put(
        f"{url}/clients/{ACME}/share-rights",
        headers={"kf-api-key": sandbox.credentials()["klipfolio"]},
        json={"groups": [{"group_id": SALES, "can_manage": False}]},
    )
    assert answer.status_code == 200
    ran = cli("access", ".", "--detailed-exitcode", "--format", "json")
    assert ran.code == 2, ran.err
    rows = json.loads(ran.out)["rows"]
    added = [r for r in rows if r["principal"] == f"klipfolio-group:{SALES}"]
    assert [(r["status"], r["access"], r["source"], r["principal_label"]) for r in added] == [
        ("live-only", "view", "live", "Sales")
    ]
    assert cli("access", ".").code == 0  # without --detailed-exitcode


def test_csv_parses_back_to_the_json_rows_and_json_fits_its_schema(
    examples: Workspace, cli: RunCli
) -> None:
    doc = json.loads(cli("access", ".", "--format", "json", "--at", AT).out)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    ran = cli("access", ".", "--format", "csv", "--at", AT)
    assert ran.code == 0
    assert read_csv(ran.out) == doc["rows"]


def test_by_person_groups_each_persons_principals(examples: Workspace, cli: RunCli) -> None:
    out = cli("access", ".", "--by", "person", "--at", AT).out
    sections = {s.splitlines()[0]: s for s in out.split("\n== ")[1:]}
    alice = sections["Alice Nguyen"]
    assert "email:alice.nguyen@acme.com" in alice and f"klipfolio-group:{FINANCE}" in alice
    assert "carol.old" in sections["(no person)"]


def test_out_writes_the_file_and_prints_no_page(
    examples: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    page = tmp_path / "access.html"
    ran = cli("access", ".", "--format", "html", "--out", str(page), "--at", AT)
    assert ran.code == 0 and ran.out == ""
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert "Alice Nguyen" in page.read_text()


def test_errors_are_one_line_and_exit_1(examples: Workspace, cli: RunCli) -> None:
    ran = cli("access", ".", "--provider", "nope")
    assert ran.code == 1
    assert len(ran.err.strip().splitlines()) == 1 and "nope" in ran.err


def test_a_principal_claimed_by_two_persons_is_a_validation_error(
    ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write(
        "people.yaml",
        """
        apiVersion: reconciler/v1
        kind: Person
        spec:
          name: Jane Doe
          emails: [Jane@Acme.com]
        ---
        apiVersion: reconciler/v1
        kind: Person
        spec:
          name: Janet Doe
          emails: [jane@acme.com]
        """,
    )
    ran = cli("validate", ".")
    assert ran.code == 1
    assert (
        "people.yaml:11:12: principal email:jane@acme.com is claimed by Person 'Janet Doe' "
        "(people.yaml:11:12) and by Person 'Jane Doe' (people.yaml:5:12)"
    ) in ran.err.replace(str(ws.root) + "/", "")


def test_a_person_needs_no_provider_and_takes_none(ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write(
        "people.yaml",
        """
        apiVersion: reconciler/v1
        kind: Person
        provider: klipfolio
        spec: {name: Jane Doe}
        """,
    )
    ran = cli("validate", ".")
    assert ran.code == 1 and "unknown field 'provider'" in ran.err


def _hand_made_admin(sandbox: Sandbox) -> None:
    """Someone creates a role with admin permissions in Klipfolio itself, through its API."""
    url = sandbox.base_urls()["klipfolio"]
    answer = httpx.post(
        f"{url}/roles",
        headers={"kf-api-key": sandbox.credentials()["klipfolio"]},
        json={
            "name": "Shadow Admins",
            "description": "",
            "permissions": ["admin.klip", "klip.edit"],
        },
    )
    assert answer.status_code == 201


@pytest.mark.parametrize("prune", [True, False], ids=["prune", "no-prune"])
def test_a_hand_made_admin_role_shows_its_permissions_and_is_privileged(
    examples: Workspace, cli: RunCli, sandbox: Sandbox, tmp_path: Path, prune: bool
) -> None:
    if not prune:
        examples.config(providers="golem.prune: [permission_shares]")
    _hand_made_admin(sandbox)
    doc = json.loads(cli("access", ".", "--format", "json", "--at", AT).out)
    roles = {r["object_label"]: r for r in doc["roles"]}
    shadow = roles["Shadow Admins"]
    assert (shadow["status"], shadow["source"]) == ("live-only", "live")
    assert shadow["permissions"] == ["admin.klip", "klip.edit"]
    assert shadow["privileged"] == ["admin.klip"]
    # Every undeclared role of the scopes read, read in full: none shows as having none.
    assert roles["Admin"]["permissions"] == sorted(
        ["account.settings", "user.manage", "admin.klip", "admin.tab"]
    )
    assert roles["Legacy Contractors"]["permissions"] == ["datasource.edit", "klip.edit"]
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    text = cli("access", ".", "--at", AT).out
    line = next(s for s in text.splitlines() if "klipfolio/KlipfolioRole/Shadow Admins" in s)
    assert {"privileged,drift", "admin.klip", "admin.klip,klip.edit"} <= set(line.split())
    page = tmp_path / "access.html"
    assert cli("access", ".", "--format", "html", "--out", str(page), "--at", AT).code == 0
    row = next(r for r in page.read_text().split("<tr ") if "Shadow Admins" in r)
    assert 'class="priv drift' in row and "admin.klip" in row


def test_objects_show_their_vendor_names_beside_their_ids(
    examples: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    rows = _rows(cli)
    names = {r["object"]: r["object_label"] for r in rows}
    assert names[f"klipfolio/KlipfolioClientShareRights/{ACME}"] == "Acme Corp"
    assert names[f"klipfolio/KlipfolioClientShareRights/{GLOBEX}"] == "Globex"
    assert names[f"{SF}/00l5e000002FiNmAAK"] == "Finance Month-End"
    assert names[f"{SF}/00l5e000002SaLeAAK"] == "Sales Pipeline Reports"
    assert names[CRITICAL] == "Critical Vendors"
    assert names[f"{DATA}/warehouse-readers"] == "warehouse-readers"
    csv_rows = read_csv(cli("access", ".", "--format", "csv", "--at", AT).out)
    assert {r["object"]: r["object_label"] for r in csv_rows} == names
    text = cli("access", ".", "--by", "object", "--at", AT).out
    assert f"== Acme Corp <klipfolio/KlipfolioClientShareRights/{ACME}>" in text
    assert f"== Finance Month-End <{SF}/00l5e000002FiNmAAK>" in text
    page = tmp_path / "access.html"
    assert cli("access", ".", "--format", "html", "--out", str(page), "--at", AT).code == 0
    assert f"Acme Corp<br><small>klipfolio/KlipfolioClientShareRights/{ACME}" in page.read_text()


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def _origin(cli: RunCli, *args: str) -> tuple[list[str], str | None, str]:
    doc = json.loads(cli("access", *args, "--desired", "--format", "json").out)
    text = cli("access", *args, "--desired").out
    return doc["workspace"], doc["commit"], text.splitlines()[1]


def test_the_header_names_the_workspace_and_its_commit(examples: Workspace, cli: RunCli) -> None:
    _git(examples.root, "init", "-q")
    _git(examples.root, "add", ".")
    _git(
        examples.root,
        *("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "access"),
    )
    head = _git(examples.root, "rev-parse", "HEAD")
    assert _origin(cli, ".") == (["."], head, f"Workspace: . at commit {head}")
    assert _origin(cli, "klipfolio", "bitsight") == (
        ["klipfolio", "bitsight"],
        head,
        f"Workspace: klipfolio bitsight at commit {head}",
    )


def test_no_checkout_or_no_git_names_no_commit(
    examples: Workspace, cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _origin(cli, ".") == (["."], None, "Workspace: .")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert _origin(cli, ".") == (["."], None, "Workspace: .")


def test_a_git_that_hangs_is_given_up_on_and_no_shell_reads_the_path(
    examples: Workspace, cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text("#!/bin/sh\nsleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr(origin, "GIT_TIMEOUT", 0.5)
    odd = "klipfolio;touch pwned"
    (examples.root / "klipfolio").rename(examples.root / odd)
    started = time.monotonic()
    assert _origin(cli, odd) == ([odd], None, f"Workspace: {odd}")
    assert time.monotonic() - started < 10
    assert not (examples.root / "pwned").exists()
