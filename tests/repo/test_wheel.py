"""The built wheel is the product: it installs into a fresh venv and validates the examples."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
