"""The action's install step (.github/reconciler-action/install.sh): the code of its own
checkout, with every dependency and the build backend hash-pinned by requirements.lock."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import reconciler

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / ".github" / "reconciler-action"
LOCK = SCRIPTS / "requirements.lock"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of every requirement in the lock file."""
    text = LOCK.read_text(encoding="utf-8")
    entries: dict[str, tuple[str, list[str]]] = {}
    # One requirement per logical line (backslash continuations), comments aside.
    for logical in re.sub(r"\\\n", " ", text).splitlines():
        line = logical.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *options = re.split(r"\s+--", line)
        req = Requirement(spec.strip())
        pins = list(req.specifier)
        assert len(pins) == 1 and pins[0].operator == "==", f"not an exact pin: {line!r}"
        hashes = [o.removeprefix("hash=") for o in options if o.startswith("hash=")]
        assert len(hashes) == len(options), f"only --hash options: {line!r}"
        entries[canonical(req.name)] = (pins[0].version, hashes)
    return entries


def test_lock_pins_every_runtime_dependency_and_the_build_backend_with_hashes() -> None:
    entries = locked()
    assert entries, "an empty lock"
    for name, (_, hashes) in entries.items():
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name
    wanted = [*PYPROJECT["project"]["dependencies"], *PYPROJECT["build-system"]["requires"]]
    for raw in wanted:
        req = Requirement(raw)
        name = canonical(req.name)
        assert name in entries, f"{name} (pyproject.toml) is missing from {LOCK.name}"
        version = entries[name][0]
        assert req.specifier.contains(version, prereleases=True), (name, version, raw)
    assert "saas-reconciler" not in entries, "the project itself comes from the checkout"


def test_lock_holds_the_whole_tree_of_the_runtime_dependencies() -> None:
    """--require-hashes needs every transitive dependency pinned too; the installed
    environment's metadata tells what each pinned package requires."""
    from importlib import metadata

    entries = locked()
    todo = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        env = {"extra": "", "sys_platform": "linux", "python_version": "3.11"}
        if req.marker and not req.marker.evaluate(env):
            continue
        name = canonical(req.name)
        if name in seen:
            continue
        seen.add(name)
        assert name in entries, f"{name} (needed by the runtime tree) is not in {LOCK.name}"
        assert req.specifier.contains(entries[name][0], prereleases=True), (name, req)
        try:
            todo.extend(Requirement(r) for r in metadata.requires(req.name) or [])
        except metadata.PackageNotFoundError:
            pass


def test_install_script_never_installs_a_name_from_an_index() -> None:
    text = (SCRIPTS / "install.sh").read_text(encoding="utf-8")
    installs = [line for line in text.splitlines() if re.search(r"\binstall\b", line)]
    pip_installs = [line for line in installs if '"${pip[@]}" install' in line]
    assert len(pip_installs) == 2, pip_installs
    deps, project = pip_installs
    assert "--require-hashes" in deps and '-r "$lock"' in deps
    assert "--no-index" in project and "--no-deps" in project
    assert "--no-build-isolation" in project
    assert "saas-reconciler" not in text and "GITHUB_WORKSPACE" not in text


def copy_checkout(dest: Path) -> Path:
    """What `uses: OWNER/reconciler@ref` puts in GITHUB_ACTION_PATH: the repository's
    files, no wheel, no venv."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in filter(None, files):
        rel = Path(raw.decode())
        src = ROOT / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the work tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, target)
    assert not list(dest.rglob("*.whl")) and not (dest / ".venv").exists()
    return dest


def run_install(action: Path, temp: Path, workspace: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(temp),
        "GITHUB_ACTION_PATH": str(action),
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(temp / "github_output"),
        "RECONCILER_PYTHON": sys.executable,
    }
    # pip's own configuration (the local package index) is kept: no other network.
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    return subprocess.run(
        ["bash", str(action / ".github" / "reconciler-action" / "install.sh")],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_install_builds_the_checkout_with_hashes_enforced(tmp_path: Path) -> None:
    action = copy_checkout(tmp_path / "action")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    # A pull request's file that must never be imported by the install.
    (workspace / "setuptools.py").write_text("raise SystemExit('workspace code ran')\n")

    # A wrong hash in the lock: nothing is installed. (Each hash of one requirement is
    # wrong, so that no file of it, wheel or sdist, can still match.)
    lock = action / LOCK.relative_to(ROOT)
    good = lock.read_text(encoding="utf-8")
    block = re.search(r"^aiolimiter==.*?(?=^\S)", good, re.MULTILINE | re.DOTALL)
    assert block and "--hash=sha256:" in block.group(0)
    wrong = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, block.group(0))
    lock.write_text(good.replace(block.group(0), wrong), encoding="utf-8")
    temp_bad = tmp_path / "temp-bad"
    temp_bad.mkdir()
    bad = run_install(action, temp_bad, workspace)
    assert bad.returncode != 0, bad.stdout + bad.stderr
    assert "DO NOT MATCH THE HASHES" in bad.stdout + bad.stderr
    assert not (temp_bad / "github_output").exists(), "no bin= output on a failed install"

    lock.write_text(good, encoding="utf-8")
    temp = tmp_path / "temp"
    temp.mkdir()
    res = run_install(action, temp, workspace)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "workspace code ran" not in res.stdout + res.stderr
    out = (temp / "github_output").read_text(encoding="utf-8")
    binary = Path(out.removeprefix("bin=").strip())
    assert binary.is_relative_to(temp)
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True, cwd=workspace
    )
    assert reconciler.__version__ in version.stdout
    # The package came from the checkout copy, into the venv (not an editable link here).
    venv_python = binary.parent / "python"
    where = subprocess.run(
        [str(venv_python), "-I", "-c", "import reconciler; print(reconciler.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=workspace,
    ).stdout
    assert where.startswith(str(binary.parent.parent)), where
    assert not (action / "build").exists(), "the checkout is not written to"
