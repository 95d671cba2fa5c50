"""The built wheel is the product: it installs into a fresh venv and validates the examples."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Installed:
    env_dir: Path
    names: list[str]
    env: dict[str, str]
    """The environment without the pipeline's settings (a fresh machine)."""

    @property
    def reconciler(self) -> str:
        return str(self.env_dir / "bin" / "reconciler")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel, built from the checkout and installed alone into a fresh venv."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("saas_reconciler-*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    # The dependencies come from the environment running the tests (no network): its
    # site-packages are appended to the new venv's path by a .pth file, so the package itself
    # comes only from the wheel, in the venv's own site-packages, which comes first. (A
    # .pth in an appended directory is not run, so an editable install there stays inert.)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    inner = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(inner) / "test-deps.pth").write_text("\n".join(sorted(outer)) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    where = subprocess.run(
        [str(python), "-c", "import reconciler; print(reconciler.__file__)"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(str(env_dir)), where

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("RECONCILER_ALLOW_HOSTS", "RECONCILER_SALESFORCE_BASE_URL")
    }
    return Installed(env_dir, names, env)


def test_wheel_installs_in_a_fresh_venv_and_validates_the_examples(
    installed: Installed, tmp_path: Path
) -> None:
    names = installed.names
    assert "reconciler/_schemas/config.schema.json" in names
    assert "reconciler/vendors/klipfolio/schemas/KlipfolioRole.schema.json" in names
    assert not [n for n in names if n.startswith("tests/")], "tests must not ship"
    # The example workspace and each vendor's examples ship: demo and init need them.
    assert "reconciler/examples/reconciler.yaml" in names
    assert "reconciler/examples/.reconcilerignore" in names
    assert "reconciler/examples/github-workflows/reconcile-apply.yml" in names
    assert "reconciler/vendors/klipfolio/examples/KlipfolioRole.yaml" in names
    assert "reconciler/sandbox/sandbox-state.yaml" in names
    # The example config names a Salesforce org, which the operator must allow: offline,
    # validate only warns about it, on a fresh machine without the pipeline's settings.
    ran = subprocess.run(
        [installed.reconciler, "validate", str(ROOT / "examples")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=installed.env,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "warning: host 'acme.my.salesforce.com'" in ran.stderr


@pytest.mark.slow
def test_init_and_demo_run_from_an_empty_directory_with_only_the_wheel(
    installed: Installed, tmp_path: Path
) -> None:
    env_dir, env, reconciler = installed.env_dir, installed.env, installed.reconciler
    # init and demo from an empty directory, with only the wheel installed.
    empty = tmp_path / "empty"
    empty.mkdir()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [reconciler, *args], cwd=empty, capture_output=True, text=True, env=env, timeout=300
        )

    demo = cli("demo", "--no-color")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "5/5 drift" in demo.stdout and "Drift detected" in demo.stdout
    assert str(env_dir) in demo.stdout  # the packaged workspace, not a checkout's
    assert list(empty.iterdir()) == []
    made = cli("init", "access", "--ci", "github")
    assert made.returncode == 0, made.stderr
    assert (empty / "access" / ".github" / "workflows" / "reconcile-plan.yml").is_file()
    assert (empty / "access" / "klipfolio" / "KlipfolioRole.yaml").is_file()
    checked = cli("validate", "access")
    assert checked.returncode == 0, checked.stderr
    assert "Valid: 5 objects in 5 files." in checked.stdout
    planned = cli("plan", "access", "--sandbox", "--no-color")
    assert planned.returncode == 0, planned.stderr
    assert "Plan: " in planned.stdout
