"""The user documentation stays true: the generated manifest reference matches the schemas,
every relative link in the docs leads somewhere, and nothing in the repository points
outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tools import docgen

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def test_manifest_reference_is_current() -> None:
    current = docgen.OUT.read_text() if docgen.OUT.is_file() else ""
    assert current == docgen.render(), (
        f"{docgen.OUT.relative_to(ROOT)} is stale (a schema description, kind or vendor "
        f"changed): run `{docgen.COMMAND}` and commit the result"
    )


def test_docgen_check_mode(tmp_path: Path) -> None:
    out = tmp_path / "ref.md"
    assert docgen.main(["--out", str(out), "--check"]) == 1
    assert docgen.main(["--out", str(out)]) == 0
    assert docgen.main(["--out", str(out), "--check"]) == 0


def test_every_kind_and_field_is_described() -> None:
    text = docgen.render()
    for vendor in docgen.builtin_vendors():
        for kind in docgen.vendor_kinds(vendor):
            assert f"### {kind}\n" in text
    # Every property row has a description (the last cell is not empty).
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows
    undescribed = [row for row in rows if row.rstrip().endswith("|  |")]
    assert undescribed == [], "schema properties without a description:\n" + "\n".join(undescribed)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, flags=re.M)}


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [m.group(1) for m in LINK.finditer(text)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_existing_files(doc: Path) -> None:
    broken = []
    for target in _links(doc):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif not dest.resolve().is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert broken == [], f"{doc.relative_to(ROOT)}: broken links:\n" + "\n".join(broken)


def _repository_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        # Not a git checkout (an unpacked sdist): every file, but tools' own folders.
        skip = {".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache"}
        return [
            f
            for f in ROOT.rglob("*")
            if f.is_file() and not f.is_symlink() and not skip & set(f.relative_to(ROOT).parts)
        ]
    files = [ROOT / name for name in out.decode().split("\0") if name]
    return [f for f in files if f.is_file() and not f.is_symlink()]


def test_no_file_refers_outside_the_repository() -> None:
    # Spelt in pieces so that this file does not match itself.
    outside = re.compile("|".join(re.escape(s) for s in (".." + "/shared", "/work" + "/shared")))
    offenders = []
    for path in _repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if outside.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert offenders == [], "files that refer outside the repository:\n" + "\n".join(offenders)
