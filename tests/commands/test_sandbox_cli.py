"""The sandbox behaves the same everywhere: one seed (package data, linked from examples/)
for `--sandbox` on every command and for `sandbox serve`; `apply PLAN.json --sandbox`."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli import _main
from reconciler.commands.session import SEED, state_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GOLEM_OWNER = "6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = _main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory, far from the checkout's examples/."""
    where = tmp_path / "elsewhere"
    where.mkdir()
    monkeypatch.chdir(where)
    return where


@pytest.fixture
def copy_of_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_one_seed_shipped_with_the_package_and_linked_from_examples() -> None:
    assert SEED.is_file() and SEED.parent == ROOT / "reconciler" / "sandbox"
    assert (EXAMPLES / "sandbox-state.yaml").resolve() == SEED.resolve()
    assert yaml.safe_load(SEED.read_text())["kind"] == "SandboxState"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"reconciler.sandbox" = ["sandbox-state.yaml"]' in pyproject


def test_seed_rule(tmp_path: Path, elsewhere: Path) -> None:
    assert state_file(None, []) == SEED
    assert state_file(None, [str(tmp_path)]) == SEED
    own = tmp_path / "sandbox-state.yaml"
    own.write_text("apiVersion: reconciler/v1\nkind: SandboxState\n")
    assert state_file(None, [str(tmp_path)]) == own
    assert state_file(str(own), []) == own


def _serve(*args: str, cwd: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    urls = dict(proc.stdout.readline().split() for _ in range(4))
    return proc, urls


def _get(url: str, vendor: str) -> Any:
    """GET `url` with the vendor's sandbox credential; the JSON answer."""
    auth = {"Authorization": f"Bearer sandbox-{vendor}-credential"}
    with urllib.request.urlopen(urllib.request.Request(url, headers=auth), timeout=10) as answer:
        return json.load(answer)


def _stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, as a supervisor stops it; its stderr once it has exited."""
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=20)[1]


def test_serve_without_state_starts_from_the_seed_from_any_directory(tmp_path: Path) -> None:
    dump = tmp_path / "final.yaml"
    proc, urls = _serve("--dump", str(dump), cwd=tmp_path)
    try:
        assert set(urls) == {"klipfolio", "bitsight", "golem", "salesforce"}
        shares = _get(f"{urls['golem']}/v1/accounts/{GOLEM_OWNER}/permission-shares", "golem")
        assert shares["values"], "the seed's Golem shares are served"
    finally:
        err = _stop(proc)
    assert proc.returncode == 0, err
    assert f"seeded from {SEED}" in err
    seed = yaml.safe_load(SEED.read_text())
    final = yaml.safe_load(dump.read_text())
    ids = [[s["id"] for s in state["golem"]["shares"]] for state in (final, seed)]
    assert ids[0] == ids[1]


def _free_run(n: int) -> int:
    """A port such that it and the n - 1 after it are free (for now), below Linux's
    ephemeral range (32768 on), where no other test's connection takes one meanwhile."""
    rng = random.Random()
    for _ in range(50):
        first = rng.randrange(20000, 32000 - n)
        held = []
        try:
            for port in range(first, first + n):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise AssertionError("no run of free ports")


def test_serve_port_is_the_first_vendors_and_each_vendor_is_at_its_ports_root(
    tmp_path: Path,
) -> None:
    first = _free_run(4)
    proc, urls = _serve("--port", str(first), cwd=tmp_path)
    try:
        assert urls == {
            "bitsight": f"http://127.0.0.1:{first}",
            "golem": f"http://127.0.0.1:{first + 1}",
            "klipfolio": f"http://127.0.0.1:{first + 2}/api/1",
            "salesforce": f"http://127.0.0.1:{first + 3}",
        }
        folders = _get(f"{urls['salesforce']}/services/data/v60.0/folders", "salesforce")
        assert folders["folders"], "the seed's folders, at the instance URL's root"
    finally:
        err = _stop(proc)
    assert proc.returncode == 0, err


def test_serve_port_in_use_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], elsewhere: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "sandbox", "serve", "--port", str(port - 1))
    assert code == 1
    assert f"--port {port - 1}: cannot listen on ports {port - 1}-{port + 2}" in err


def test_serve_help_says_what_it_prints(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sandbox", "serve", "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "each vendor's base URL on a line of its own" in flat
    assert "golem http://127.0.0.1:8126" in out and "klipfolio http://127.0.0.1:8127/api/1" in out
    assert "until interrupted" in flat
    assert "--dump" in out and "final state" in flat
    assert "examples/sandbox-state.yaml" in "".join(out.split())


def test_apply_saved_plan_with_sandbox(
    copy_of_examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "plan", "examples/", "--sandbox", "--out", "p.json")
    assert code == 0, err
    assert "Plan: " in out
    code, out, err = run(
        capsys, "apply", "p.json", "--sandbox", "--config", "examples/reconciler.yaml"
    )
    assert code == 0, out + err
    assert "Apply complete:" in out and "0 conflict, 0 failed." in out
    assert "state saved to .reconciler/" in err
    # The session continues: the manifests now match the sandbox.
    code, out, err = run(capsys, "plan", "examples/", "--sandbox", "--detailed-exitcode")
    assert code == 0 and "No changes." in out, out + err
    # Applying the same plan again finds every object changed since: stale, nothing written.
    code, out, err = run(
        capsys, "apply", "p.json", "--sandbox", "--config", "examples/reconciler.yaml"
    )
    assert code == 1 and "plan is stale" in err


def test_saved_sandbox_plan_without_sandbox_is_still_refused(
    copy_of_examples: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_ALLOW_HOSTS", "acme.my.salesforce.com")
    code, _, err = run(capsys, "plan", "examples/", "--sandbox", "--out", "p.json")
    assert code == 0, err
    code, out, err = run(capsys, "apply", "p.json", "--config", "examples/reconciler.yaml")
    assert code == 1 and "host '127.0.0.1' is a loopback address" in err, out + err
    # Even where the operator allows loopback, the plan's hosts are not the config's.
    monkeypatch.setenv("RECONCILER_ALLOW_LOOPBACK", "1")
    code, out, err = run(capsys, "apply", "p.json", "--config", "examples/reconciler.yaml")
    assert code == 1 and "nothing was read or written" in err, out + err
    assert "base_url 'https://acme.my.salesforce.com', not 'http://127.0.0.1:" in err
    assert not (copy_of_examples / ".reconciler").exists()


def test_export_sandbox_from_any_directory_finds_the_seed(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "export", "--provider", "klipfolio", "--out", "out", "--sandbox")
    assert code == 0, err
    roles = (elsewhere / "out" / "KlipfolioRole.yaml").read_text()
    assert roles.count("kind: KlipfolioRole") >= 3
    rights = (elsewhere / "out" / "KlipfolioClientShareRights.yaml").read_text()
    assert "# Finance" in rights


def test_export_sandbox_says_why_when_the_seed_has_nothing(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = elsewhere / "golem-only.yaml"
    seed.write_text("apiVersion: reconciler/v1\nkind: SandboxState\ngolem: {shares: []}\n")
    code, _, err = run(
        capsys,
        "export",
        "--provider",
        "klipfolio",
        "--out",
        "out",
        "--sandbox",
        "--sandbox-state",
        str(seed),
    )
    assert code == 1
    assert f"{seed} holds no klipfolio section" in err and "--sandbox-state" in err
    assert not (elsewhere / "out").exists()
    code, _, err = run(
        capsys,
        "export",
        "--provider",
        "klipfolio",
        "--out",
        "o",
        "--sandbox",
        "--sandbox-state",
        "nope.yaml",
    )
    assert code == 1 and "sandbox state file not found: nope.yaml" in err
