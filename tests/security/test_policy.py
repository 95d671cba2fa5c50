"""Policy switched off by the pull request itself (issue 17, items 3 and 6): the operator's
policy (`--policy`, RECONCILER_POLICY) is a floor the workspace may only tighten; every plan
begins with a governance block and the markdown comment with a risk summary that the cap
never cuts away."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import _main
from reconciler.sandbox import Sandbox
from tests.support.harness import Ran, RunCli, Workspace
from tests.support.plans import write

VIEWERS = """
apiVersion: reconciler/v1
kind: KlipfolioRole
spec: {name: Viewers, description: new, permissions: [klip.email]}
"""
OLD_ID = "4" * 32
VIEWERS_ID = "3" * 32
FOLDER = "00l5e000002ExEcAAK"
EVERYONE = f"""
apiVersion: reconciler/v1
kind: SalesforceFolderShares
spec:
  folder_id: {FOLDER}
  members: additive
  shares:
    - {{share_type: organization, access_type: view}}
"""
SF_FOLDER = {"id": FOLDER, "label": "Board", "name": "Board", "type": "dashboard", "shares": []}


@pytest.fixture
def live(sandbox: Sandbox, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Viewers (declared, to update) and Old (undeclared); a policy outside the workspace."""
    sandbox.state["klipfolio"] = {
        "roles": [
            {"id": VIEWERS_ID, "name": "Viewers", "description": "old", "permissions": []},
            {"id": OLD_ID, "name": "Old", "description": "x", "permissions": []},
        ],
        "clients": [],
    }
    ws.write("roles.yaml", VIEWERS)
    monkeypatch.chdir(ws.root)
    # Loopback is the sandbox's; a CI runner's operator allows it the same way.
    monkeypatch.setenv("RECONCILER_ALLOW_LOOPBACK", "1")
    return sandbox


def _policy(ws: Workspace, body: str, name: str = "policy.yaml") -> Path:
    """A policy file beside the workspace (outside it, as in CI), `body` under its kind."""
    path = ws.root.parent / name
    path.write_text("apiVersion: reconciler/v1\nkind: Policy\n" + body.strip("\n") + "\n")
    return path


def _line(path: Path, needle: str) -> int:
    """The line (1-based) of the first line of `path` holding `needle`."""
    lines = path.read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if needle in text)


def _refused(res: Ran, sandbox: Sandbox, *words: str) -> None:
    """Exit 1 (never 3), each word in the message, and not one request sent."""
    assert res.code == 1, res.out + res.err
    for word in words:
        assert word in res.err, res.err
    assert "Traceback" not in res.err and "Internal error" not in res.err
    assert sandbox.log == [], "a refused run sent requests"


def _problems(res: Ran) -> int:
    """The problem lines of the error output (not the `N problems in M files` total)."""
    return sum(1 for x in res.err.splitlines() if x.strip() and " in 1 file" not in x)


# -- the floor ---------------------------------------------------------------------------

FLOOR_CASES = [
    # (id, workspace settings, policy settings, config needle, words in the message)
    (
        "disables-a-rule",
        "guards: {disabled: [everyone]}",
        "guards: {disabled: [mass-grant]}",
        "guards:",
        ["disables everyone", "disabled: [mass-grant]"],
    ),
    (
        "raises-max-delete-percent",
        "safety: {max_delete_percent: 80}",
        "safety: {max_delete_percent: 20}",
        "safety:",
        ["max_delete_percent: 80 is looser than the policy's 20"],
    ),
    (
        "raises-max-update-percent",
        "safety: {max_update_percent: 90}",
        "",
        "safety:",
        ["max_update_percent: 90 is looser than the policy's 30"],
    ),
    (
        "raises-min-existing",
        "safety: {min_existing: 100000}",
        "safety: {min_existing: 5}",
        "safety:",
        ["min_existing: 100000 is looser than the policy's 5"],
    ),
    (
        "raises-max-new-members",
        "guards: {max_new_members: 5000}",
        "guards: {max_new_members: 10}",
        "guards:",
        ["max_new_members: 5000 is looser than the policy's 10"],
    ),
    (
        "raises-max-ignore-days",
        "max_ignore_days: 200",
        "max_ignore_days: 30",
        "max_ignore_days",
        ["max_ignore_days: 200 is looser than the policy's 30"],
    ),
    (
        "shrinks-admin-permissions",
        "guards: {admin_permissions: [dashboard.fullscreen]}",
        "guards: {admin_permissions: [admin.client, user.manage]}",
        "guards:",
        ["lacks admin.client, user.manage", "[admin.client, user.manage]"],
    ),
    (
        "shrinks-the-default-admin-permissions",
        "guards: {admin_permissions: [dashboard.fullscreen]}",
        "",
        "guards:",
        ["lacks account.", "the built-in list"],
    ),
]


@pytest.mark.parametrize(
    ("mine", "theirs", "needle", "words"),
    [c[1:] for c in FLOOR_CASES],
    ids=[c[0] for c in FLOOR_CASES],
)
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_workspace_setting_looser_than_the_policy_is_refused_at_its_line(
    live: Sandbox,
    ws: Workspace,
    cli: RunCli,
    command: str,
    mine: str,
    theirs: str,
    needle: str,
    words: list[str],
) -> None:
    config = ws.config(settings=mine)
    policy = _policy(ws, f"settings: {{{theirs}}}" if theirs else "settings: {}")
    res = cli(command, str(ws.root), "--policy", str(policy))
    where = f"{config}:{_line(config, needle)}:"
    _refused(res, live, where, str(policy), *words)
    assert _problems(res) == 1, res.err


def test_without_a_policy_the_same_settings_still_apply_as_before(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(settings="safety: {max_delete_percent: 80}\nguards: {disabled: [everyone]}")
    assert cli("validate", str(ws.root)).code == 0


def test_keys_the_workspace_omits_take_the_policys_values(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    """The policy's lower threshold refuses a delete the default 30% would let through,
    and the policy's protect glob, which the workspace does not name, keeps Old."""
    ws.config(providers="klipfolio.prune: [roles]")
    ws.write("more.yaml", VIEWERS.replace("Viewers", "Editors"))
    policy = _policy(ws, "settings: {safety: {max_delete_percent: 10, min_existing: 1}}")
    res = cli("apply", str(ws.root), "--auto-approve", "--policy", str(policy))
    assert res.code == 1 and "max_delete_percent 10" in res.err, res.out + res.err
    assert [r for r in live.log if r.method != "GET"] == [], "a refused apply wrote"
    protect = _policy(ws, 'settings: {protect: ["klipfolio/KlipfolioRole/Old"]}')
    res = cli("plan", str(ws.root), "--policy", str(protect), "--no-color")
    assert res.code == 0, res.err
    assert "- klipfolio/KlipfolioRole/Old" not in res.out
    assert "Protected from prune:\n  = klipfolio/KlipfolioRole/Old" in res.out


def test_an_allow_outside_the_policys_allowable_is_refused_at_the_document(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    doc = ws.write(
        "open.yaml",
        EVERYONE.replace("spec:", 'metadata:\n  allow: {everyone: "all staff"}\nspec:'),
    )
    policy = _policy(ws, "settings: {guards: {allowable: [mass-grant]}}")
    res = cli("plan", str(ws.root), "--policy", str(policy))
    where = f"{doc}:{_line(doc, 'everyone:')}:"
    _refused(res, live, where, "does not let a document allow everyone", str(policy))


def test_the_policys_protect_globs_cannot_be_dropped(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    """`settings.protect` cannot be dropped: the policy's globs always apply."""
    ws.config(providers="klipfolio.prune: [roles]", settings="protect: []")
    policy = _policy(ws, 'settings: {protect: ["klipfolio/KlipfolioRole/Ol?"]}')
    res = cli("apply", str(ws.root), "--auto-approve", "--policy", str(policy))
    assert res.code == 0, res.err
    assert "Old" in {r["name"] for r in live.state["klipfolio"]["roles"]}


# -- max_ignore_days is at most 365 ------------------------------------------------------

IGNORE = """
ignore:
  - address: "klipfolio/*"
    reason: "everything"
    owner: pr-author@example.com
    until: 2099-01-01
"""


@pytest.mark.parametrize("days", [99999999, 36500, 366])
def test_max_ignore_days_over_a_year_is_refused_at_its_line(
    live: Sandbox, ws: Workspace, cli: RunCli, days: int
) -> None:
    config = ws.config(settings=f"max_ignore_days: {days}\n{IGNORE}")
    res = cli("plan", str(ws.root))
    where = f"{config}:{_line(config, 'max_ignore_days')}:"
    _refused(res, live, where, f"max_ignore_days: {days} is more than 365")


def test_a_policys_max_ignore_days_is_capped_too(live: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    policy = _policy(ws, "settings: {max_ignore_days: 99999999}")
    res = cli("validate", str(ws.root), "--policy", str(policy))
    _refused(res, live, f"{policy}:3:", "max_ignore_days: 99999999 is more than 365")


def test_an_ignore_beyond_the_policys_max_ignore_days_is_refused(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    soon = (date.today() + timedelta(days=60)).isoformat()
    config = ws.config(settings=IGNORE.replace("2099-01-01", f"{soon}\nmax_ignore_days: 90"))
    policy = _policy(ws, "settings: {max_ignore_days: 30}")
    res = cli("plan", str(ws.root), "--policy", str(policy))
    _refused(res, live, f"{config}:", "max_ignore_days: 90 is looser than the policy's 30")
    config = ws.config(settings=IGNORE.replace("2099-01-01", soon))  # the policy's 30 days
    res = cli("plan", str(ws.root), "--policy", str(policy))
    _refused(res, live, f"{config}:{_line(config, '- address')}:", "max_ignore_days (30)")


# -- the policy file itself --------------------------------------------------------------


@pytest.mark.parametrize("where", ["policy.yaml", ".github/policy.yaml", "sub/policy.yaml"])
def test_a_policy_inside_the_workspace_is_refused(
    live: Sandbox, ws: Workspace, cli: RunCli, where: str
) -> None:
    ws.config(settings="guards: {disabled: [everyone]}")
    inside = ws.write(where, "apiVersion: reconciler/v1\nkind: Policy\nsettings: {}\n")
    res = cli("plan", str(ws.root), "--policy", str(inside))
    _refused(res, live, f"{inside}:1:1:", "lies inside the manifest path")


def test_a_policy_left_out_by_reconcilerignore_is_outside_the_manifests(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    """As examples/deploy/policy.yaml: the ignore file keeps deploy/ out of discovery."""
    ws.config()
    ws.write(".reconcilerignore", "deploy/\n")
    kept = ws.write("deploy/policy.yaml", "apiVersion: reconciler/v1\nkind: Policy\n")
    assert cli("validate", str(ws.root), "--policy", str(kept)).code == 0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (None, ["policy file not found"]),
        ("apiVersion: reconciler/v1\nkind: Policy\nsettings: [\n", [":4:", "expected"]),
        ("apiVersion: reconciler/v1\nkind: Config\n", [":2:", "'Policy'"]),
        ("apiVersion: reconciler/v1\nkind: Policy\nsettings: {safty: {}}\n", [":3:", "safty"]),
        (
            "apiVersion: reconciler/v1\nkind: Policy\nsettings:\n  guards: {allowable: [all]}\n",
            [":4:", "'all'"],
        ),
    ],
    ids=["missing", "yaml-syntax", "wrong-kind", "unknown-key", "unknown-rule"],
)
def test_a_missing_or_malformed_policy_is_one_line_naming_the_file(
    live: Sandbox, ws: Workspace, cli: RunCli, text: str | None, words: list[str]
) -> None:
    ws.config()
    path = ws.root.parent / "policy.yaml"
    if text is not None:
        path.write_text(text)
    res = cli("plan", str(ws.root), "--policy", str(path))
    _refused(res, live, str(path), *words)
    assert _problems(res) == 1, res.err


def test_manifest_discovery_skips_policy_documents(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("notes/policy-draft.yaml", "apiVersion: reconciler/v1\nkind: Policy\nsettings: {}\n")
    res = cli("validate", str(ws.root))
    assert res.code == 0 and "Valid: 1 object" in res.out, res.err


def test_reconciler_policy_env_is_the_policy_and_the_flag_wins(
    live: Sandbox, ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.config(settings="safety: {max_delete_percent: 80}")
    strict = _policy(ws, "settings: {safety: {max_delete_percent: 30}}")
    lenient = _policy(ws, "settings: {safety: {max_delete_percent: 90}}", "lenient.yaml")
    monkeypatch.setenv("RECONCILER_POLICY", str(strict))
    _refused(cli("validate", str(ws.root)), live, str(strict), "80 is looser than the policy's 30")
    assert cli("validate", str(ws.root), "--policy", str(lenient)).code == 0
    monkeypatch.setenv("RECONCILER_POLICY", str(ws.root.parent / "absent.yaml"))
    _refused(cli("validate", str(ws.root)), live, "absent.yaml", "policy file not found")


COMMANDS = [
    ["validate"],
    ["plan"],
    ["apply", "--auto-approve"],
    ["drift"],
    ["access"],
    ["access", "--desired"],
    ["expiring"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_each_command_checks_the_workspace_against_the_policy(
    live: Sandbox, ws: Workspace, cli: RunCli, command: list[str]
) -> None:
    config = ws.config(settings="guards: {disabled: [last-manager]}")
    policy = _policy(ws, "settings: {}")
    res = cli(command[0], str(ws.root), *command[1:], "--policy", str(policy))
    where = f"{config}:{_line(config, 'guards:')}:"
    _refused(res, live, where, "disables last-manager", str(policy))


def test_apply_of_a_saved_plan_rechecks_with_the_policys_settings(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    """A plan made without the policy deletes Old; applied under a policy that protects
    it, the delete is refused and nothing is written."""
    ws.config(providers="klipfolio.prune: [roles]")
    assert cli("plan", str(ws.root), "--out", "plan.json").code == 0
    live.log.clear()
    policy = _policy(ws, 'settings: {protect: ["klipfolio/KlipfolioRole/Old"]}')
    res = cli("apply", "plan.json", "--policy", str(policy))
    assert res.code == 1 and "protected from prune" in res.err, res.out + res.err
    assert [r for r in live.log if r.method != "GET"] == [], "a refused plan wrote"
    assert "Old" in {r["name"] for r in live.state["klipfolio"]["roles"]}
    # The same plan under a floor the workspace's config loosens: refused at the config.
    config = ws.config(providers="klipfolio.prune: [roles]", settings="guards: {disabled: [x]}")
    config.write_text(config.read_text().replace("[x]", "[everyone]"))
    res = cli("apply", "plan.json", "--policy", str(_policy(ws, "settings: {}")))
    _refused(res, live, "reconciler.yaml:", "disables everyone")


def test_apply_of_a_saved_plan_does_not_honour_an_allow_the_policy_refuses(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    live.state["salesforce"] = {"org_id": "00D5e000000AcMeEAK", "folders": [dict(SF_FOLDER)]}
    ws.config()
    ws.write("open.yaml", EVERYONE.replace("spec:", 'metadata:\n  allow: {everyone: "all"}\nspec:'))
    assert cli("plan", str(ws.root), "--out", "plan.json").code == 0
    live.log.clear()
    policy = _policy(ws, "settings: {guards: {allowable: [mass-grant]}}")
    res = cli("apply", "plan.json", "--policy", str(policy))
    assert res.code == 1 and "guard everyone" in res.out + res.err, res.out + res.err
    # Refusal is per object: the opening is not written, whatever else the plan holds.
    writes = [r for r in live.log if r.method != "GET" and r.vendor == "salesforce"]
    assert writes == [], "the refused opening was written"


# -- the policy's providers --------------------------------------------------------------


def test_policy_providers_bound_the_workspaces_accounts(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    urls = live.base_urls()
    config = ws.config()
    listed = f"""
providers:
  klipfolio: {{type: klipfolio, base_url: "{urls["klipfolio"]}", api_key_env: KLIPFOLIO_OPS_KEY}}
"""
    res = cli("validate", str(ws.root), "--policy", str(_policy(ws, listed)))
    assert res.code == 1, res.err
    assert f"{config}:{_line(config, '  klipfolio:')}:" in res.err
    assert "credential variable 'KLIPFOLIO_API_KEY', the policy's is 'KLIPFOLIO_OPS_KEY'" in res.err
    assert f"{config}:{_line(config, '  golem:')}:" in res.err
    assert "provider 'golem' is not among the policy's providers (klipfolio)" in res.err
    assert "Traceback" not in res.err and live.log == []
    moved = listed.replace(urls["klipfolio"], "https://app.klipfolio.com/api/1")
    res = cli("validate", str(ws.root), "--policy", str(_policy(ws, moved)))
    assert "base_url" in res.err and "the policy's is 'https://app.klipfolio.com/api/1'" in res.err


def test_without_a_config_the_policys_providers_are_the_providers(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    url = live.base_urls()["klipfolio"]
    policy = _policy(ws, f'providers:\n  klipfolio: {{type: klipfolio, base_url: "{url}"}}\n')
    res = cli("plan", str(ws.root), "--policy", str(policy), "--no-color")
    assert res.code == 0, res.err
    assert "~ klipfolio/KlipfolioRole/Viewers" in res.out
    assert any(r.method == "GET" for r in live.log)


def test_a_host_the_policy_lists_is_trusted(live: Sandbox, ws: Workspace, cli: RunCli) -> None:
    org = "https://acme.my.salesforce.com"
    (ws.root / "reconciler.yaml").write_text(
        f"apiVersion: reconciler/v1\nkind: Config\nproviders:\n"
        f"  salesforce: {{type: salesforce, base_url: {org}}}\n"
    )
    (ws.root / "roles.yaml").unlink()
    res = cli("plan", str(ws.root))
    assert res.code == 1 and "acme.my.salesforce.com" in res.err, res.err
    res = cli("validate", str(ws.root))  # offline: a warning that plan will refuse it
    assert res.code == 0 and "warning: host 'acme.my.salesforce.com'" in res.err, res.err
    policy = _policy(ws, f"providers:\n  salesforce: {{type: salesforce, base_url: {org}}}\n")
    res = cli("validate", str(ws.root), "--policy", str(policy))
    assert res.code == 0 and "warning" not in res.err, res.err


# -- the governance block ----------------------------------------------------------------

LOOSE = """
guards:
  disabled: [everyone]
  admin_permissions: [dashboard.fullscreen]
safety: {max_delete_percent: 100, max_update_percent: 100, min_existing: 100000}
ignore:
  - address: "klipfolio/*"
    reason: "quiet please"
    owner: pr-author@example.com
    until: 2099-01-01
max_ignore_days: 365
"""


def _loose(live: Sandbox, ws: Workspace) -> None:
    """The issue's pull request: guards off, admin list replaced, thresholds raised, a
    broad ignore; and a change that opens a folder to everyone."""
    live.state["salesforce"] = {"org_id": "00D5e000000AcMeEAK", "folders": [dict(SF_FOLDER)]}
    ws.config(settings=LOOSE.replace("2099-01-01", "2027-06-01"))
    ws.write("open.yaml", EVERYONE)


def _governance_words() -> list[str]:
    return [
        "Policy: none",
        "guards.disabled: everyone",
        "guards.admin_permissions: [dashboard.fullscreen]",
        "safety.max_delete_percent: 100 (default 30)",
        "safety.max_update_percent: 100 (default 30)",
        "safety.min_existing: 100000 (default 10)",
        "max_ignore_days: 365 (default 90)",
        "pr-author@example.com",
        "quiet please",
    ]


def test_the_markdown_comment_shows_what_the_pull_request_loosened_first(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    _loose(live, ws)
    res = cli("plan", str(ws.root), "--format", "markdown")
    assert res.code == 0, res.err
    top, _, rest = res.out.partition("**Plan:")
    assert rest, res.out
    plain = re.sub(r"\\(.)", r"\1", top)  # markdown's escapes undone
    for word in [*_governance_words(), "#### Risk summary"]:
        assert word in plain, (word, top)
    # The opening to everyone the disabled rule lets through is still a risk, first.
    assert "salesforce/SalesforceFolderShares/" + FOLDER in plain
    assert "not refused: the rule is disabled" in plain


def test_the_text_and_json_plans_begin_with_the_governance_block(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    _loose(live, ws)
    res = cli("plan", str(ws.root), "--no-color", "--out", "plan.json")
    assert res.code == 0, res.err
    assert res.out.startswith("Governance:\n  Policy: none"), res.out
    head = res.out.split("\n\n")[0]
    for word in _governance_words():
        assert word in head, (word, head)
    assert f"Risks:\n  ! salesforce/SalesforceFolderShares/{FOLDER}: everyone" in head
    doc = json.loads(Path("plan.json").read_text())
    gov = doc["governance"]
    assert gov["policy"] is None
    settings = {(s["setting"], s["value"]) for s in gov["settings"]}
    assert ("guards.disabled", "everyone") in settings
    assert ("safety.max_delete_percent", "100") in settings
    assert ("guards.admin_permissions", "[dashboard.fullscreen]") in settings
    assert gov["ignores"][0]["address"] == "klipfolio/*" and gov["ignores"][0]["owner"]
    assert [r["rule"] for r in gov["risks"]] == ["everyone"]
    # The plan file still applies, and `show` shows the block as recorded.
    shown = cli("show", "plan.json", "--no-color")
    assert shown.code == 0 and shown.out.startswith("Governance:\n  Policy: none"), shown.out
    assert "guards.disabled: everyone" in shown.out


def test_the_governance_block_names_the_policy_and_its_sha256(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    policy = _policy(ws, "settings: {}")
    digest = hashlib.sha256(policy.read_bytes()).hexdigest()
    for command in ("plan", "drift"):
        res = cli(command, str(ws.root), "--no-color", "--policy", str(policy))
        assert res.code in (0, 2), res.err
        assert res.out.startswith(f"Governance:\n  Policy: {policy} (sha256 {digest})"), res.out
    res = cli("plan", str(ws.root), "--format", "json", "--policy", str(policy))
    assert json.loads(res.out)["governance"]["policy"] == {"path": str(policy), "sha256": digest}
    res = cli("drift", str(ws.root), "--format", "json", "--policy", str(policy))
    assert json.loads(res.out)["governance"]["policy"]["sha256"] == digest
    res = cli("drift", str(ws.root), "--format", "markdown", "--policy", str(policy))
    assert "#### Governance" in res.out and digest in res.out


def test_an_older_plan_file_without_governance_still_loads(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    assert cli("plan", str(ws.root), "--out", "plan.json").code == 0
    doc: dict[str, Any] = json.loads(Path("plan.json").read_text())
    del doc["governance"]
    write(Path("."), doc, reseal=True)
    shown = cli("show", "plan.json", "--no-color")
    assert shown.code == 0 and "Policy: not recorded" in shown.out, shown.out
    live.log.clear()
    res = cli("apply", "plan.json")
    assert res.code == 0, res.err
    assert [r.method for r in live.log if r.method != "GET"] == ["PUT"]


def test_a_risk_pushed_past_the_comment_cap_is_still_in_the_risk_summary(
    live: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    """Many large role changes sort before the folder opened to everyone: the details are
    cut, the risk summary and one line per changed address are not."""
    live.state["salesforce"] = {"org_id": "00D5e000000AcMeEAK", "folders": [dict(SF_FOLDER)]}
    ws.config()
    long = "x" * 900
    roles = [
        f"apiVersion: reconciler/v1\nkind: KlipfolioRole\n"
        f"spec: {{name: Role {i:03d}, description: {long}, permissions: [klip.email]}}\n"
        for i in range(90)
    ]
    ws.write("many.yaml", "---\n".join(roles))
    ws.write("open.yaml", EVERYONE)
    res = cli("plan", str(ws.root), "--format", "markdown")
    assert res.code == 1, res.err  # apply would refuse the opening: the check fails
    md = res.out
    assert len(md) < 60_000
    address = f"salesforce/SalesforceFolderShares/{FOLDER}"
    plain = re.sub(r"\\(.)", r"\1", md)  # markdown's escapes undone
    summary = plain.split("**Plan:")[0]
    assert address in summary and "everyone (refused)" in summary, summary[:2000]
    assert "changes not shown in detail" in plain
    for i in range(90):
        assert f"klipfolio/KlipfolioRole/Role {i:03d}" in plain
    assert address in plain.split("changes not shown in detail")[1]


def test_the_example_policy_plans_the_example_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/governance.md's command: the example policy is outside the manifests (deploy/
    is in examples/.reconcilerignore) and the example workspace keeps to it."""
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    policy = "examples/deploy/policy.yaml"
    code = _main(["plan", "examples/", "--sandbox", "--policy", policy, "--no-color"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith(f"Governance:\n  Policy: {policy} (sha256 "), out
    assert "Looser setting safety.max_delete_percent: 50 (default 30)" in out
