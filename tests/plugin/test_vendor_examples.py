"""Every vendor keeps one small, commented example manifest per kind in its `examples/`
folder (the manifest reference shows them), and each one is valid as `reconciler validate`
reads it: the manifest loader and the schemas, offline, with the providers at loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core import notices
from reconciler.core.errors import ManifestError
from reconciler.input import schemas
from reconciler.input.manifest import load_workspace
from reconciler.plugin import registry


def _config(root: Path) -> Path:
    """A config with one provider of every type, each at a loopback address, so that no
    host rule trips and no credential is needed (validate never connects)."""
    lines = ["apiVersion: reconciler/v1", "kind: Config", "providers:"]
    for name in sorted(registry.vendors()):
        lines += [f"  {name}:", f"    type: {name}", "    base_url: http://127.0.0.1:9"]
    path = root / "reconciler.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def check_examples(vendor: registry.Vendor, tmp_path: Path) -> None:
    """One example per kind and nothing else in the folder, each a commented document of its
    kind that validates and mentions every spec field (set, or in a comment)."""
    kinds = sorted(vendor.provider_class().KINDS)
    assert kinds, f"{vendor.name} has no kinds"
    folder = vendor.example(kinds[0]).parent
    found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    assert found == [f"{kind}.yaml" for kind in kinds], f"{folder}: one <Kind>.yaml per kind"
    config = _config(tmp_path)
    for kind in kinds:
        path = vendor.example(kind)
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# "), f"{path}: starts with a comment that says what it is"
        try:
            with pytest.MonkeyPatch.context() as env, notices.collecting() as notes:
                env.setenv("RECONCILER_ALLOW_LOOPBACK", "1")  # the loopback hosts above
                ws = load_workspace([str(path)], str(config))
        except ManifestError as exc:
            pytest.fail(f"{path} is not valid:\n" + "\n".join(map(str, exc.problems)))
        assert notes.take() == [], f"{path}: validates with warnings"
        assert ws.resources, f"{path}: no object"
        assert {r.kind for r in ws.resources} == {kind}
        assert {r.provider for r in ws.resources} == {vendor.name}
        spec = schemas.schema(kind)["properties"]["spec"]["properties"]
        missing = [field for field in spec if f"{field}:" not in text]
        assert missing == [], f"{path}: says nothing of {', '.join(missing)}"


@pytest.mark.parametrize("name", sorted(registry.vendors()))
def test_every_kind_has_a_valid_example(name: str, tmp_path: Path) -> None:
    check_examples(registry.vendors()[name], tmp_path)


def test_every_builtin_vendor_has_examples() -> None:
    builtin = [v for v in registry.vendors().values() if v.provider.startswith("reconciler.")]
    assert builtin
    for vendor in builtin:
        for kind in vendor.provider_class().KINDS:
            assert vendor.example(kind).is_file(), f"{vendor.name}: no example of {kind}"
