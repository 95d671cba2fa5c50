"""The built wheel is the product: it installs into a fresh venv and validates the examples."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_in_a_fresh_venv_and_validates_the_examples(tmp_path: Path) -> None:
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
    assert "reconciler/_schemas/config.schema.json" in names
    assert "reconciler/vendors/klipfolio/schemas/KlipfolioRole.schema.json" in names
    assert not [n for n in names if n.startswith("tests/")], "tests must not ship"
    # The vendors' example manifests are documentation (docgen reads them from the checkout).
    assert not [n for n in names if "/examples/" in n], "example manifests must not ship"

    # The dependencies come from this interpreter's site-packages (no network); the package
    # itself only from the wheel, which the venv's own site-packages puts first.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
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

    # The example config names a Salesforce org, which the operator must allow.
    env = {**os.environ, "RECONCILER_ALLOW_HOSTS": "acme.my.salesforce.com"}
    ran = subprocess.run(
        [str(env_dir / "bin" / "reconciler"), "validate", str(ROOT / "examples")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
