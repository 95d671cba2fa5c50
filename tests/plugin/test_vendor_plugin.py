"""A vendor shipped as a separate package: discovered through its `reconciler.vendors` entry
point, then validated, planned and applied against its own sandbox app, no core file touched."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli import _main
from reconciler.plugin import registry
from reconciler.sandbox import Sandbox
from tests.plugin.test_vendor_examples import check_examples

PLUGIN = Path(__file__).parent / "plugin_vendor"
CORE = Path(registry.__file__).parents[1]

MANIFESTS = """\
apiVersion: reconciler/v1
kind: NoteboardBoard
spec: {name: roadmap, visibility: team}
---
apiVersion: reconciler/v1
kind: NoteboardBoard
spec: {name: retro}
"""


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Path]:
    """The plug-in installed the way pip leaves a package: a *.dist-info folder on sys.path
    whose entry_points.txt names the Vendor."""
    site = tmp_path / "site"
    info = site / "noteboard_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: noteboard-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[reconciler.vendors]\nnoteboard = tests.plugin.plugin_vendor:VENDOR\n"
    )
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    registry.reload()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        importlib.invalidate_caches()
        registry.reload()


@pytest.fixture
def own_sandbox(installed: Path) -> Iterator[Sandbox]:
    """A sandbox of its own: the session's was built before the plug-in was installed."""
    sb = Sandbox(retry_after=0)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


def _workspace(root: Path, sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    root.mkdir()
    (root / "reconciler.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Config\nproviders:\n  boards:\n    type: noteboard\n"
        f"    base_url: {sb.base_urls()['noteboard']}\n    prune: [boards]\n"
    )
    (root / "boards.yaml").write_text(MANIFESTS)
    monkeypatch.setenv("NOTEBOARD_TOKEN", sb.credentials()["noteboard"])
    monkeypatch.setenv("RECONCILER_ALLOW_LOOPBACK", "1")  # the operator's word: a test sandbox
    return root


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = _main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_plugin_is_found_only_through_its_entry_point(installed: Path) -> None:
    assert "noteboard" in registry.vendors()
    assert registry.kind_types()["NoteboardBoard"] == "noteboard"
    assert not any(
        "noteboard" in f.read_text().lower()
        for f in CORE.rglob("*")
        if f.suffix in (".py", ".json")
    ), "a vendor touches only its own folder"


def test_plugin_examples_folder_holds_a_valid_example_per_kind(
    installed: Path, tmp_path: Path
) -> None:
    vendor = registry.vendors()["noteboard"]
    assert vendor.examples == PLUGIN / "examples"
    check_examples(vendor, tmp_path)


def test_plugin_vendor_validates_plans_and_applies_against_its_sandbox(
    own_sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    own_sandbox.state["noteboard"] = {
        "boards": [
            {"id": "00000000-0000-4000-8000-000000000001", "name": "retro", "visibility": "public"},
            {"id": "00000000-0000-4000-8000-000000000002", "name": "old", "visibility": "team"},
        ]
    }
    root = _workspace(tmp_path / "ws", own_sandbox, monkeypatch)

    code, out = _run(capsys, "validate", str(root))
    assert code == 0, out
    code, out = _run(capsys, "plan", str(root), "--detailed-exitcode")
    assert code == 2, out
    assert own_sandbox.writes() == []
    code, out = _run(capsys, "apply", str(root), "--auto-approve")
    assert code == 0, out
    writes = sorted((r.method, r.path.rsplit("/", 1)[-1]) for r in own_sandbox.writes())
    assert writes == [
        ("DELETE", "00000000-0000-4000-8000-000000000002"),
        ("POST", "boards"),
        ("PUT", "00000000-0000-4000-8000-000000000001"),
    ]
    code, out = _run(capsys, "plan", str(root), "--detailed-exitcode")
    assert code == 0, out
    assert "No changes" in out


def test_a_minimal_vendor_without_export_refuses_export_in_one_line(
    own_sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Export is an optional hook group: the minimal vendor leaves it out, and `export` says
    # so (exit 1) before it writes any file.
    root = _workspace(tmp_path / "ws", own_sandbox, monkeypatch)
    out_dir = tmp_path / "out"
    args = ["export", "--config", str(root / "reconciler.yaml"), "--provider", "boards"]
    code, out = _run(capsys, *args, "--out", str(out_dir))
    assert code == 1, out
    assert "NoteboardBoard cannot be exported" in out
    assert len(out.strip().splitlines()) == 1, out
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_plugin_schema_takes_its_words_from_the_vendor_vocabulary(
    own_sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _workspace(tmp_path / "ws", own_sandbox, monkeypatch)
    (root / "boards.yaml").write_text(MANIFESTS.replace("visibility: team", "visibility: teem"))
    code, out = _run(capsys, "validate", str(root))
    assert code == 1
    assert "'teem' is not one of private, team, public; did you mean 'team'?" in out
    assert own_sandbox.requests() == []
