"""Test helpers: a workspace on disk pointed at the sandbox, and the CLI run in-process."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from reconciler.cli import _main
from reconciler.plugin import registry
from reconciler.sandbox import Sandbox

ENV = {vendor: cls.DEFAULTS.credential_env for vendor, cls in sorted(registry.providers().items())}
"""Each vendor's credential variable, by provider type (from the registry)."""

LIFTED = {"rate_limit_per_second": 0, "max_concurrency": 0}
"""The vendor limits a workspace config lifts unless the test sets its own or asks for the
vendor's real defaults (`real_limits=True`): tests that are not about limits never wait."""


@dataclass
class Ran:
    code: int
    out: str
    err: str


class RunCli(Protocol):
    """The `cli` fixture: run the CLI in-process in the workspace, `cli("plan", ".")`."""

    def __call__(self, *args: str) -> Ran: ...


class Workspace:
    """A directory of manifests plus a reconciler.yaml whose providers all point at `sandbox`
    (loopback, allowed by setting RECONCILER_ALLOW_LOOPBACK=1 as an operator would)."""

    def __init__(self, root: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.sandbox = sandbox
        self.monkeypatch = monkeypatch
        root.mkdir(parents=True, exist_ok=True)
        for vendor, env in ENV.items():
            monkeypatch.setenv(env, sandbox.credentials().get(vendor, "unused"))
        # The config points at the session's sandbox on loopback, without --sandbox: the
        # operator's word (tests of that rule delete it).
        monkeypatch.setenv("RECONCILER_ALLOW_LOOPBACK", "1")

    def config(self, providers: str = "", settings: str = "", real_limits: bool = False) -> Path:
        """Write reconciler.yaml; `providers` is extra YAML merged under each alias by name.

        Vendor limits (rate, concurrency) are lifted unless `providers` sets them or
        `real_limits` keeps the vendors' defaults."""
        urls = self.sandbox.base_urls()
        extra = _by_alias(providers)
        known = registry.providers()
        lines = ["apiVersion: reconciler/v1", "kind: Config", "providers:"]
        for vendor, url in urls.items():
            if vendor not in known:
                continue
            own = extra.get(vendor, [])
            lines += [f"  {vendor}:", f"    type: {vendor}", f"    base_url: {url}"]
            lines += [f"    {line}" for line in own]
            if not real_limits:
                given = {line.partition(":")[0].strip() for line in own}
                lines += [f"    {k}: {v}" for k, v in LIFTED.items() if k not in given]
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
