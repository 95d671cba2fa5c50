"""`reconciler export`: manifests from live state, so a team can adopt the tool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml

from reconciler.commands.options import Options, common, echo, sandbox_options
from reconciler.commands.session import maybe_sandbox
from reconciler.config import find_config, load_config
from reconciler.engine import SandboxTarget, close, connect
from reconciler.errors import ReconcilerError
from reconciler.manifest import API_VERSION
from reconciler.registry import PROVIDERS, defaults
from reconciler.runner import run


class _Dumper(yaml.SafeDumper):
    """Block style, and no anchors: exported files are for people to read and edit."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def manifests(kind: str, alias: str, specs: list[dict[str, Any]], identity: tuple[str, ...]) -> str:
    def key(spec: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(spec.get(f) or "") for f in identity)

    docs = [
        {"apiVersion": API_VERSION, "kind": kind, "provider": alias, "spec": spec}
        for spec in sorted(specs, key=key)
    ]
    header = f"# Exported by reconciler from provider {alias!r}: {len(docs)} {kind} objects.\n"
    body = yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return header + (body if docs else "")


async def _export(
    opts: Options,
    alias: str,
    kinds: list[str],
    scopes: list[str],
    target: SandboxTarget | None,
) -> dict[str, str]:
    config = load_config(find_config(opts.config, []), defaults())
    if alias not in config.providers:
        known = ", ".join(sorted(config.providers))
        raise ReconcilerError(f"unknown provider {alias!r} (configured: {known})")
    cls = PROVIDERS[config.providers[alias].type]
    for kind in kinds:
        if kind not in cls.KINDS:
            raise ReconcilerError(
                f"provider {alias!r} has no kind {kind!r} (it has: {', '.join(cls.KINDS)})"
            )
    providers = connect(config, {alias}, target)
    provider = providers[alias]
    files: dict[str, str] = {}
    try:
        for kind in kinds or list(cls.KINDS):
            kind_scopes = scopes or await provider.scopes(kind)
            specs = await provider.export(kind, kind_scopes)
            files[f"{kind}.yaml"] = manifests(kind, alias, specs, cls.KINDS[kind].identity)
    finally:
        await close(providers)
    return files


@click.command()
@click.option("--provider", "alias", required=True, help="Provider alias to export.")
@click.option("--kind", "kinds", multiple=True, help="Only these kinds (repeatable).")
@click.option(
    "--scope", "scopes", multiple=True, help="Client ids, folder ids or Golem owner accounts."
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Directory to write.")
@click.option("--force", is_flag=True, help="Write into a non-empty directory, replacing files.")
@sandbox_options
@common
def export(
    opts: Options,
    alias: str,
    kinds: tuple[str, ...],
    scopes: tuple[str, ...],
    out: str,
    force: bool,
    sandbox: bool,
    sandbox_state: str | None,
) -> int:
    """Write manifests for the live objects of a provider, one file per kind."""
    target_dir = Path(out)
    if target_dir.exists() and any(target_dir.iterdir()) and not force:
        raise ReconcilerError(f"{out} is not empty: pass --force to write into it")
    with maybe_sandbox(sandbox, sandbox_state, [], opts) as target:
        files = run(_export(opts, alias, list(kinds), list(scopes), target))
    target_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (target_dir / name).write_text(text, encoding="utf-8")
        echo(f"wrote {target_dir / name}", opts)
    return 0


COMMANDS = [export]
