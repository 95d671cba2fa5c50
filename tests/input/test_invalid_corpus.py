"""The corpus of invalid workspaces: each fails with its exact one-line message, before any call.

Each directory under tests/fixtures/invalid/ is one case:

- the workspace: manifests, optionally `reconciler.yaml` (`{sandbox.klipfolio}` and the like
  become the sandbox's base URLs; without one, every provider points at the sandbox, unless
  a `no-config` file says the case is about having none) and optionally `plan.json`;
- `expected.txt`: the exact problem lines on stderr, paths relative to the case;
- `args.txt` (optional): the command, one argument a line; default `plan .`;
- `env.txt` (optional): `VAR=value` lines, or `-VAR` to unset one (credentials are set);
- `make.py` (optional): `make(root)` writes what is too big or too binary to keep in Git.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import aiohttp
import pytest

from reconciler.input.config import REFUSED_LATER
from reconciler.sandbox import Sandbox
from tests.support.harness import Workspace
from tests.support.offline import as_warning

CORPUS = Path(__file__).parent / "fixtures" / "invalid"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.txt").is_file())
META = ("expected.txt", "args.txt", "env.txt", "make.py", "no-config", "__pycache__")

SUMMARY = re.compile(r"^(\d+) problems? in (\d+) files?$")
PROBLEM = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+): \S.*$")
FILE_ERROR = re.compile(r"^Error: (?P<file>[^\s:]+)(:\d+:\d+)?: \S.*$")


def test_corpus_has_at_least_30_cases() -> None:
    assert len(CASES) >= 30, CASES


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _prepare(name: str, root: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Copy the case to `root`, set its environment and config; returns the CLI arguments."""
    src = CORPUS / name
    shutil.copytree(src, root, ignore=shutil.ignore_patterns(*META))
    ws = Workspace(root, sandbox, monkeypatch)  # sets every credential env var
    for var in ("RECONCILER_ALLOW_HOSTS", "RECONCILER_SALESFORCE_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    for line in _lines(src / "env.txt"):
        if line.startswith("-"):
            monkeypatch.delenv(line[1:], raising=False)
        else:
            var, _, value = line.partition("=")
            monkeypatch.setenv(var, value)
    config = root / "reconciler.yaml"
    if config.is_file():
        text = config.read_text(encoding="utf-8")
        for vendor, url in sandbox.base_urls().items():
            text = text.replace(f"{{sandbox.{vendor}}}", url)
        config.write_text(text, encoding="utf-8")
    elif not (src / "no-config").exists():
        ws.config()
    if (src / "make.py").is_file():
        spec = importlib.util.spec_from_file_location(f"invalid_case_{name}", src / "make.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.make(root)
    monkeypatch.chdir(root)
    return _lines(src / "args.txt") or ["plan", "."]


def _problems(err: str) -> list[str]:
    """The problem lines of stderr, checked against the `N problems in M files` summary."""
    lines = err.splitlines()
    summary = SUMMARY.match(lines[-1]) if lines else None
    if summary is None:
        return lines
    problems = lines[:-1]
    files = {m["file"] for p in problems if (m := PROBLEM.match(p))}
    assert (int(summary[1]), int(summary[2])) == (len(problems), len(files)), err
    return problems


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("an invalid workspace made an HTTP request")


@pytest.mark.parametrize("name", CASES)
def test_invalid_workspace_fails_with_its_message_and_no_request(
    name: str,
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from reconciler.cli import _main

    root = tmp_path / name
    args = _prepare(name, root, sandbox, monkeypatch)
    # Not one request, to the sandbox or anywhere else (a case without a config has the
    # vendors' real hosts).
    monkeypatch.setattr(aiohttp.ClientSession, "_request", _refuse)
    expected = _lines(CORPUS / name / "expected.txt")
    for line in expected:
        found = PROBLEM.match(line) or FILE_ERROR.match(line)
        assert found, f"{name}: expected line names no file: {line}"
        if not line.endswith("not found"):  # a case about a missing file names it
            assert (root / found["file"]).exists(), f"{name}: {found['file']} is not in the case"

    capsys.readouterr()
    code = _main(args)
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert _problems(err) == expected
    assert out == ""
    assert sandbox.log == []

    if not (CORPUS / name / "args.txt").is_file():
        # What plan refuses, validate reports identically, offline; what only the operator's
        # environment could allow (a host, loopback, a credential variable) as a warning that
        # plan and apply will refuse it.
        code = _main(["validate", "."])
        out, err = capsys.readouterr()
        warned = [ln for ln in err.splitlines() if f"({REFUSED_LATER})" in ln]
        errors = [ln for ln in err.splitlines() if ln not in warned]
        offline = [ln for ln in expected if as_warning(ln) in warned]
        assert len(offline) == len(warned), err
        assert code == (1 if errors else 0), out + err
        assert (_problems("\n".join(errors)) if errors else []) == [
            ln for ln in expected if ln not in offline
        ]
        assert sandbox.log == []
