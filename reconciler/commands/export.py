"""`reconciler export`: manifests from live state, so a team can adopt the tool."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import click
import yaml

from reconciler.commands.options import Options, common, echo, sandbox_options
from reconciler.commands.session import maybe_sandbox
from reconciler.core import safefile
from reconciler.core.errors import ReconcilerError
from reconciler.core.runner import run
from reconciler.engine.connect import SandboxTarget, close, connect
from reconciler.input.config import find_config, load_config
from reconciler.input.manifest import API_VERSION
from reconciler.plugin.provider import NOTE
from reconciler.plugin.registry import PROVIDERS, defaults


class _Dumper(yaml.SafeDumper):
    """Block style, and no anchors: exported files are for people to read and edit."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _scalar(value: Any) -> str:
    """`value` as YAML writes it in a block mapping, on one line."""
    flow = yaml.dump([value], Dumper=_Dumper, default_flow_style=True, width=1 << 20)
    return str(flow.strip()[1:-1])


_NOT_IN_COMMENT = re.compile(
    "[^\x09\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
    "|[\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_TOKEN = f"reconciler-note-{os.urandom(6).hex()}-"


def _with_notes(node: Any, notes: dict[str, str]) -> Any:
    """`node` without its NOTE keys: each noted field's value is swapped for a token that
    `notes` maps to the line's text (the value, then the note as a comment)."""
    if isinstance(node, list):
        return [_with_notes(item, notes) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if isinstance(key, str) and key.startswith(NOTE):
            continue
        note = node.get(NOTE + key) if isinstance(key, str) else None
        if note and isinstance(value, str | int) and not isinstance(value, bool):
            token = f"{_TOKEN}{len(notes)}"
            # One line of plain text (a comment ends at any YAML line break), kept short.
            # Anything YAML cannot hold in a comment (a line break, a control character, a
            # lone surrogate, U+FFFE/U+FFFF) becomes a space.
            plain = _NOT_IN_COMMENT.sub(" ", str(note))
            words = " ".join(plain.split())[:200]
            notes[token] = f"{_scalar(value)}  # {words}"
            out[key] = token
        else:
            out[key] = _with_notes(value, notes)
    return out


def manifests(kind: str, alias: str, specs: list[dict[str, Any]], identity: tuple[str, ...]) -> str:
    """One file of manifests, sorted by identity; a spec's notes (NOTE keys: a group's or a
    recipient's name) are written as comments beside the ids they name."""

    def key(spec: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(spec.get(f) or "") for f in identity)

    notes: dict[str, str] = {}
    docs = [
        {
            "apiVersion": API_VERSION,
            "kind": kind,
            "provider": alias,
            "spec": _with_notes(spec, notes),
        }
        for spec in sorted(specs, key=key)
    ]
    header = f"# Exported by reconciler from provider {alias!r}: {len(docs)} {kind} objects.\n"
    body = yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    if notes:
        body = re.sub(_TOKEN + r"\d+$", lambda m: notes[m.group(0)], body, flags=re.M)
    return header + (body if docs else "")


async def _export(
    opts: Options,
    alias: str,
    kinds: list[str],
    scopes: list[str],
    target: SandboxTarget | None,
    out: Path,
    force: bool,
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
    vtype = config.providers[alias].type
    names = {kind: file_name(alias, vtype, kind) for kind in kinds or list(cls.KINDS)}
    # Before any request: files of other providers (or kinds) stay; only an existing file
    # of this export's own is refused, unless --force. A link counts, dangling or not; a
    # linked --out directory (or one on the way to it) is refused even with --force.
    safefile.refuse_linked_dir(out, what="--out")
    taken = sorted(str(out / n) for n in names.values() if os.path.lexists(out / n))
    if taken and not force:
        raise ReconcilerError(
            f"export would overwrite {', '.join(taken)}: nothing was read or written "
            "(pass --force to replace, or choose another --out)"
        )
    sb = opts.extra.get("sandbox")
    if sb is not None and not sb.state.get(vtype):
        raise ReconcilerError(
            f"the sandbox state {opts.extra.get('sandbox_seed')} holds no {vtype} section, so "
            f"there is nothing to export: pass --sandbox-state FILE with a {vtype!r} section"
        )
    providers = connect(config, {alias}, target)
    provider = providers[alias]
    files: dict[str, str] = {}
    try:
        for kind, name in names.items():
            kind_scopes = scopes or await provider.scopes(kind)
            specs = await provider.export(kind, kind_scopes)
            files[name] = manifests(kind, alias, specs, cls.KINDS[kind].identity)
    finally:
        await close(providers)
    return files


def file_name(alias: str, vtype: str, kind: str) -> str:
    """`KIND.yaml`; `ALIAS-KIND.yaml` for an alias other than its type's name, so that two
    accounts of one vendor export side by side into one directory."""
    name = f"{kind}.yaml" if alias == vtype else f"{alias}-{kind}.yaml"
    # The alias comes from reconciler.yaml: a file name of its own, never a path.
    if not _FILE_NAME.fullmatch(name):
        raise ReconcilerError(
            f"cannot export provider {alias!r} to a file of its own: its alias makes the file "
            f"name {name!r}; use an alias of letters, digits, '_', '.' and '-'"
        )
    return name


@click.command()
@click.option("--provider", "alias", required=True, help="Provider alias to export.")
@click.option("--kind", "kinds", multiple=True, help="Only these kinds (repeatable).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="Only these scopes (repeatable): the ids a kind's objects sit under, such as a "
    "client, folder or owner account id. Default: every scope.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Directory to write.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace files of this export that already exist (other files are always kept).",
)
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
    """Write manifests for the live objects of a provider, one file per kind.

    The files (KIND.yaml, or ALIAS-KIND.yaml for an alias other than its vendor's name)
    join whatever the directory holds; an existing one is replaced only with --force.
    Groups and recipients are named in comments beside their ids."""
    target_dir = Path(out)
    with maybe_sandbox(sandbox, sandbox_state, [], opts) as target:
        files = run(_export(opts, alias, list(kinds), list(scopes), target, target_dir, force))
    for name, text in files.items():
        safefile.make_dirs(target_dir, what="--out")
        # With --force, a link at the file is replaced by the file, never written through.
        safefile.write_text(target_dir / name, text, replace_link=force, what="--out")
        echo(f"wrote {target_dir / name}", opts)
    return 0


COMMANDS = [export]
