"""Test helpers: a workspace on disk pointed at the sandbox, and the CLI run in-process."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.cli import _main
from reconciler.registry import PROVIDERS
from reconciler.sandbox import Sandbox

ENV = {
    "klipfolio": "KLIPFOLIO_API_KEY",
    "bitsight": "BITSIGHT_API_TOKEN",
    "golem": "GOLEM_TOKEN",
    "salesforce": "SALESFORCE_ACCESS_TOKEN",
}


@dataclass
class Ran:
    code: int
    out: str
    err: str


class Workspace:
    """A directory of manifests plus a reconciler.yaml whose providers all point at `sandbox`."""

    def __init__(self, root: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.sandbox = sandbox
        self.monkeypatch = monkeypatch
        root.mkdir(parents=True, exist_ok=True)
        for vendor, env in ENV.items():
            monkeypatch.setenv(env, sandbox.credentials().get(vendor, "unused"))

    def config(self, providers: str = "", settings: str = "") -> Path:
        """Write reconciler.yaml; `providers` is extra YAML merged under each alias by name."""
        urls = self.sandbox.base_urls()
        extra = _by_alias(providers)
        lines = ["apiVersion: reconciler/v1", "kind: Config", "providers:"]
        for vendor, url in urls.items():
            if vendor not in PROVIDERS:
                continue
            lines += [f"  {vendor}:", f"    type: {vendor}", f"    base_url: {url}"]
            lines += [f"    {line}" for line in extra.get(vendor, [])]
        if settings:
            lines += ["settings:"] + [
                "  " + line for line in textwrap.dedent(settings).splitlines()
            ]
        path = self.root / "reconciler.yaml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    def run(self, *args: str, capsys: pytest.CaptureFixture[str]) -> Ran:
        capsys.readouterr()
        code = _main([*args])
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)


def _by_alias(text: str) -> dict[str, list[str]]:
    """'klipfolio: {prune: [roles]}'-style lines, as `alias.key: value` pairs."""
    out: dict[str, list[str]] = {}
    for line in textwrap.dedent(text).splitlines():
        if not line.strip():
            continue
        alias, _, rest = line.partition(".")
        out.setdefault(alias.strip(), []).append(rest.strip())
    return out
