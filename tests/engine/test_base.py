"""`--base REF` over a real temporary Git repository: what the PR changed is read, the rest
is not; PR changes and drift are told apart; the config's loosenings are listed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from tests.support.harness import RunCli, Workspace

ROLE = """\
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: {name}
  description: {description}
  permissions: [{permissions}]
"""
LIVE = {
    "Alpha": ("1" * 32, "a", ["klip.email"]),
    "Beta": ("2" * 32, "b", ["klip.edit"]),
    "Gamma": ("3" * 32, "c", ["tab.download"]),
}
KF = "klipfolio/KlipfolioRole"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def role(name: str, description: str, permissions: list[str]) -> str:
    return ROLE.format(name=name, description=description, permissions=", ".join(permissions))


@pytest.fixture
def repo(sandbox: Sandbox, ws: Workspace) -> Workspace:
    """A Git checkout whose committed documents (HEAD) match live state: three roles, one a
    file."""
    sandbox.state["klipfolio"] = {
        "groups": [],
        "clients": [],
        "roles": [
            {"id": i, "name": n, "description": d, "permissions": p}
            for n, (i, d, p) in LIVE.items()
        ],
    }
    ws.config(providers="klipfolio.prune: [roles]")
    for name, (_, description, perms) in LIVE.items():
        ws.write(f"roles/{name.lower()}.yaml", role(name, description, perms))
    git(ws.root, "init", "-q", "-b", "main")
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", "base")
    return ws


def klipfolio_reads(sandbox: Sandbox) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in sandbox.requests("klipfolio")]


def plan_json(cli: RunCli, ws: Workspace, *more: str) -> dict:
    res = cli("plan", str(ws.root), "--base", "main", "--format", "json", *more)
    assert res.code in (0, 2), res.err
    return json.loads(res.out)


def test_an_edited_document_reads_only_its_object(
    repo: Workspace, sandbox: Sandbox, cli: RunCli
) -> None:
    repo.write("roles/beta.yaml", role("Beta", "b", ["klip.edit", "klip.build"]))
    sandbox.log.clear()
    res = cli("plan", str(repo.root), "--base", "main", "--no-color")
    assert res.code == 0, res.err
    # The role list (prune reads the company scope) and Beta's own read; not Alpha nor Gamma.
    assert sorted(klipfolio_reads(sandbox)) == [
        ("GET", "/api/1/roles"),
        ("GET", "/api/1/roles/" + "2" * 32),
    ]
    assert (
        "Plan (changes since main): 0 to create, 1 to update, 0 to replace, 0 to delete; "
        "2 unchanged objects not read." in res.out
    )
    pr, drift = res.out.split("Drift apply would also revert")
    assert f"~ {KF}/Beta" in pr.split("Changes in this pull request")[1]
    assert "(none)" in drift
    # The unchanged, declared roles in the pruned scope are not deleted for being unread.
    assert f"- {KF}/Alpha" not in res.out and f"- {KF}/Gamma" not in res.out


def test_an_added_document_is_created_by_the_pr(
    repo: Workspace, sandbox: Sandbox, cli: RunCli
) -> None:
    repo.write("roles/delta.yaml", role("Delta", "d", ["klip.email"]))
    doc = plan_json(cli, repo)
    assert [(c["address"], c["action"], c["cause"]) for c in doc["changes"]] == [
        (f"{KF}/Delta", "create", "pr")
    ]
    assert doc["base"]["unread"] == 3 and doc["base"]["ref"] == "main"


def test_a_removed_document_is_pruned_by_the_pr(
    repo: Workspace, sandbox: Sandbox, cli: RunCli
) -> None:
    (repo.root / "roles/gamma.yaml").unlink()
    doc = plan_json(cli, repo)
    assert [(c["address"], c["action"], c["cause"]) for c in doc["changes"]] == [
        (f"{KF}/Gamma", "delete", "pr")
    ]
    assert doc["base"]["removed"] == [f"{KF}/Gamma"]
    res = cli("apply", str(repo.root), "--base", "main", "--auto-approve", "--no-color")
    assert res.code == 0, res.err
    assert [(w.method, w.path) for w in sandbox.writes()] == [
        ("DELETE", "/api/1/roles/" + "3" * 32)
    ]


def test_a_removed_document_without_prune_is_left_as_it_is(
    repo: Workspace, sandbox: Sandbox, cli: RunCli
) -> None:
    repo.config()  # prune off (uncommitted: the PR turns it off)
    git(repo.root, "commit", "-q", "-am", "no prune")
    (repo.root / "roles/gamma.yaml").unlink()
    sandbox.log.clear()
    res = cli("plan", str(repo.root), "--base", "main", "--no-color")
    assert res.code == 0, res.err
    assert klipfolio_reads(sandbox) == []
    assert "No changes since main." in res.out
    assert "No longer declared (left as they are: prune does not cover them):" in res.out
    assert f"  {KF}/Gamma" in res.out


def test_a_renamed_file_with_the_same_object_is_no_change(
    repo: Workspace, sandbox: Sandbox, cli: RunCli
) -> None:
    git(repo.root, "mv", "roles/alpha.yaml", "roles/first.yaml")
    (repo.root / "roles/more").mkdir()
    git(repo.root, "mv", "roles/beta.yaml", "roles/more/beta.yml")
    sandbox.log.clear()
    res = cli("plan", str(repo.root), "--base", "main", "--no-color", "--detailed-exitcode")
    assert res.code == 0, res.err
    assert klipfolio_reads(sandbox) == []
    assert res.out.rstrip().endswith(
        "No changes since main. Live state matches the manifests read; "
        "3 unchanged objects not read."
    )


def test_a_config_that_loosens_a_guard_is_listed(
    repo: Workspace, sandbox: Sandbox, cli: RunCli
) -> None:
    repo.config(
        providers="klipfolio.prune: [roles]",
        settings="guards: {disabled: [admin-permission], max_new_members: 40}",
    )
    res = cli("plan", str(repo.root), "--base", "main", "--no-color")
    assert res.code == 0, res.err
    gov = res.out.split("Changes in this pull request")[0]
    assert "Loosens the base config: disables guard admin-permission" in gov
    assert "Loosens the base config: raises guards.max_new_members from 25 to 40" in gov
    doc = plan_json(cli, repo)
    assert {x["setting"] for x in doc["governance"]["loosened"]} == {
        "guards.disabled",
        "guards.max_new_members",
    }
    # Tightening is not listed.
    repo.config(providers="klipfolio.prune: [roles]", settings="guards: {max_new_members: 5}")
    assert plan_json(cli, repo)["governance"].get("loosened") is None


def test_drift_on_an_object_the_pr_edits_shows_in_both_sections(
    repo: Workspace, sandbox: Sandbox, cli: RunCli
) -> None:
    repo.write("roles/beta.yaml", role("Beta", "b", ["klip.edit", "tab.download"]))
    # Out of band: someone changed Beta's description, and Alpha's (unchanged in the PR).
    for r in sandbox.state["klipfolio"]["roles"]:
        if r["name"] in ("Beta", "Alpha"):
            r["description"] = "changed by hand"
    res = cli("plan", str(repo.root), "--base", "main", "--no-color")
    assert res.code == 0, res.err
    pr, drift = res.out.split("Drift apply would also revert")
    assert f"~ {KF}/Beta" in pr and "permissions" in pr and "changed by hand" not in pr
    assert f"~ {KF}/Beta" in drift and '"changed by hand" -> "b"' in drift
    assert "Alpha" not in res.out  # not read: its document did not change
    doc = plan_json(cli, repo)
    (beta,) = doc["changes"]
    assert beta["cause"] == "pr"
    assert {f["field"]: f["cause"] for f in beta["fields"]} == {
        "description": "drift",
        "permissions": "pr",
    }
    md = cli("plan", str(repo.root), "--base", "main", "--format", "markdown").out
    assert "#### Changes in this pull request" in md and "#### Drift apply would also revert" in md


def test_a_drift_only_change_on_a_pr_object_is_drift(
    repo: Workspace, sandbox: Sandbox, cli: RunCli
) -> None:
    # The PR edits Beta's metadata only (same object); live lost a permission.
    repo.write(
        "roles/beta.yaml",
        "# a comment the PR adds\n" + role("Beta", "b", ["klip.edit"]),
    )
    repo.write("roles/gamma.yaml", role("Gamma", "c2", ["tab.download"]))
    sandbox.state["klipfolio"]["roles"][2]["permissions"] = []
    doc = plan_json(cli, repo)
    (gamma,) = doc["changes"]
    causes = {f["field"]: f["cause"] for f in gamma["fields"]}
    assert causes == {"description": "pr", "permissions": "drift"}


def test_a_saved_partial_plan_applies_exactly_and_shows(
    repo: Workspace, sandbox: Sandbox, cli: RunCli, tmp_path: Path
) -> None:
    repo.write("roles/beta.yaml", role("Beta", "b", ["klip.edit", "klip.build"]))
    out = tmp_path / "plan.json"
    res = cli("plan", str(repo.root), "--base", "main", "--out", str(out))
    assert res.code == 0, res.err
    shown = cli("show", str(out), "--no-color")
    assert shown.code == 0, shown.err
    assert "Plan (changes since main)" in shown.out and "Changes in this pull request" in shown.out
    sandbox.log.clear()
    config = str(repo.root / "reconciler.yaml")
    res = cli("apply", str(out), "--config", config)
    assert res.code == 0, res.err
    assert [(w.method, w.path) for w in sandbox.writes()] == [("PUT", "/api/1/roles/" + "2" * 32)]
    assert (
        "--base does not apply to a saved plan"
        in cli("apply", str(out), "--base", "main", "--config", config).err
    )


def test_an_unknown_ref_says_how_to_fetch_it(repo: Workspace, cli: RunCli) -> None:
    res = cli("plan", str(repo.root), "--base", "origin/nope")
    assert res.code == 1
    assert res.err.count("\n") == 1
    assert "unknown revision origin/nope" in res.err
    assert "git fetch --depth=50 origin origin/nope" in res.err
    assert "fetch-depth: 0" in res.err


def test_a_ref_that_is_an_option_is_refused(repo: Workspace, cli: RunCli) -> None:
    res = cli("plan", str(repo.root), "--base", "--output=/tmp/x")
    assert res.code == 1
    assert "is not a Git revision" in res.err


def test_outside_a_git_checkout(ws: Workspace, cli: RunCli, tmp_path: Path) -> None:
    ws.config()
    ws.write("roles/a.yaml", role("Alpha", "a", ["klip.email"]))
    res = cli("plan", str(ws.root), "--base", "main")
    assert res.code == 1
    assert "is not in a Git checkout" in res.err and "fetch-depth: 0" in res.err


def test_a_shallow_clone_without_the_ref(
    repo: Workspace, sandbox: Sandbox, cli: RunCli, tmp_path: Path
) -> None:
    repo.write("roles/beta.yaml", role("Beta", "b", ["klip.edit", "klip.build"]))
    git(repo.root, "commit", "-q", "-am", "pr")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
    res = cli("plan", str(clone), "--base", "HEAD~1")
    assert res.code == 1
    assert "is not in this shallow clone" in res.err
    assert "git fetch --depth=50 origin HEAD~1" in res.err
    # Fetching the base makes it work.
    git(clone, "fetch", "-q", "--depth=2", "origin", "main")
    res = cli("plan", str(clone), "--base", "HEAD~1", "--no-color")
    assert res.code == 0, res.err
    assert "Plan (changes since HEAD~1): 0 to create, 1 to update" in res.out


def test_guards_apply_to_the_pr_and_the_risk_names_its_cause(
    repo: Workspace, sandbox: Sandbox, cli: RunCli
) -> None:
    repo.write("roles/beta.yaml", role("Beta", "b", ["klip.edit", "user.manage"]))
    res = cli("plan", str(repo.root), "--base", "main", "--no-color")
    assert res.code == 1  # the policy check: apply would refuse the guard
    assert f"{KF}/Beta: admin-permission (refused) [pull request]" in res.out
    assert res.out.rstrip().endswith("Apply would refuse: 1 change (guards: admin-permission 1)")


def test_the_base_sides_warnings_are_not_shown_again_under_a_temporary_path(
    repo: Workspace, cli: RunCli
) -> None:
    # A warning both sides have (here a well-formed permission the vendor's list lacks) is
    # the head's to show, once, at the head's path; the base revision is the past.
    repo.write("roles/alpha.yaml", role("Alpha", "a", ["klip.email", "klip.future"]))
    git(repo.root, "commit", "-q", "-am", "a permission the list lacks")
    repo.write("roles/alpha.yaml", role("Alpha", "a2", ["klip.email", "klip.future"]))
    res = cli("plan", str(repo.root), "--base", "main")
    assert res.code in (0, 2), res.err
    warned = [line for line in res.err.splitlines() if "warning:" in line]
    assert len(warned) == 1, res.err
    assert warned[0].startswith(str(repo.root / "roles" / "alpha.yaml")), res.err
    assert "reconciler-base-" not in res.err
