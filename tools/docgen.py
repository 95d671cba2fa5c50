"""Writes docs/manifest-reference.md from the JSON Schemas' descriptions.

    python -m tools.docgen            # rewrite docs/manifest-reference.md
    python -m tools.docgen --check    # exit 1 when the file is stale

Every kind of every built-in vendor (`reconciler/vendors/<name>/`), with the schemas as
validation composes them (`reconciler.input.schemas.schema`, vocabularies filled in) and what the
registry knows of the kind (identity, share list, prune word, fields that force a replace,
id format), then the kind's example manifest from the vendor's `examples/` (read from the
checkout: the wheel does not ship them). A vendor installed as a separate package is left
out, so the file does not depend on what else is installed. To change a field's text, edit
its `description` in the schema (or the example) and run this again; tests/test_docs.py
fails while the file is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from reconciler.core import safefile
from reconciler.core.ids import IdFormat
from reconciler.input import schemas
from reconciler.plugin import registry

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "manifest-reference.md"
COMMAND = "python -m tools.docgen"
LONG_ENUM = 12
"""An enum longer than this is listed below its table, not in the table cell."""
NOT_STATE = frozenset({"members", "expires"})
"""Spec fields that steer reconciliation and are never part of the live state, so never
"not managed when left out"."""


def builtin_vendors() -> list[registry.Vendor]:
    return [
        v
        for _, v in sorted(registry.vendors().items())
        if v.provider.startswith("reconciler.vendors.")
    ]


def vendor_kinds(vendor: registry.Vendor) -> list[str]:
    return sorted(p.name.removesuffix(".schema.json") for p in vendor.schemas.glob("[A-Z]*.json"))


def vendor_title(vendor: registry.Vendor) -> str:
    path = vendor.settings_schema()
    if path.is_file():
        title = str(json.loads(path.read_text()).get("title", ""))
        if title.endswith(" provider settings"):
            return title.removesuffix(" provider settings")
    return vendor.name


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


# -- words for schema keywords ---------------------------------------------------------------


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return f"`{text}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _type(node: dict[str, Any]) -> str:
    if "const" in node:
        return "string" if isinstance(node["const"], str) else type(node["const"]).__name__
    kind = node.get("type")
    if isinstance(kind, list):
        return " or ".join(_type({**node, "type": k}) for k in kind)
    if kind is None and "enum" in node:
        kind = "string" if all(isinstance(e, str) for e in node["enum"]) else "value"
    if kind == "array":
        item = _type(node.get("items", {}))
        return "list of " + {"string": "strings", "boolean": "booleans", "mapping": "mappings"}.get(
            item, f"{item}s"
        )
    if kind == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and "$ref" in extra:
            return "mapping of string to mapping"
        if isinstance(extra, dict):
            return f"mapping of string to {_type(extra)}"
        return "mapping"
    return str(kind or "any")


def _id_formats() -> dict[str, IdFormat]:
    return {cls.ID_FORMAT.pattern: cls.ID_FORMAT for cls in registry.providers().values()}


def _values(node: dict[str, Any], long_lists: dict[str, list[str]], field: str) -> str:
    """What a value may be, in words: constant, enum, pattern, format, length, range."""
    words: list[str] = []
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        inner = _values(node["items"], long_lists, field)
        if inner:
            words.append(f"each {inner}")
    if "const" in node:
        words.append(f"always {_code(node['const'])}")
    if "enum" in node:
        options = [str(o) for o in node["enum"]]
        if len(options) > LONG_ENUM:
            long_lists[field] = options
            words.append(f"one of the {len(options)} values listed below the table")
        else:
            words.append("one of " + ", ".join(_code(o) for o in options))
    pattern = node.get("pattern")
    if pattern:
        id_format = _id_formats().get(pattern)
        options = schemas._alternatives(pattern)
        if id_format is not None:
            words.append(id_format.label)
        elif options:
            words.append("one of " + ", ".join(_code(o) for o in options) + ", in any case")
        elif node.get("format") == "email":
            words.append("an email address")
        elif field.endswith("_env"):
            words.append("an environment variable name (upper-case letters, digits and `_`)")
        else:
            words.append(f"matches {_code(pattern)}")
    elif node.get("format") == "email":
        words.append("an email address")
    if node.get("minLength") == 1:
        words.append("not empty")
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        words.append(f"from {low} to {high}")
    elif low is not None:
        words.append(f"at least {low}")
    elif high is not None:
        words.append(f"at most {high}")
    choice = _one_of_required(node)
    if choice:
        words.append("exactly one of " + ", ".join(_code(k) for k in choice))
    return "; ".join(words)


def _one_of_required(node: dict[str, Any]) -> list[str]:
    keys: list[str] = []
    for sub in node.get("oneOf", []):
        keys.extend(k for k in sub.get("required", []) if k not in keys)
    return keys


# -- walking a schema ------------------------------------------------------------------------


def _fields(node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(dotted name, schema node, required) for every property under `node`, depth first;
    a list's items are `name[].field`."""
    required = set(node.get("required", []))
    for name, sub in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        yield path, sub, name in required
        if sub.get("type") == "object" and "properties" in sub:
            yield from _fields(sub, f"{path}.")
        items = sub.get("items")
        if sub.get("type") == "array" and isinstance(items, dict) and "properties" in items:
            yield from _fields(items, f"{path}[].")


def _table(
    rows: Sequence[tuple[str, dict[str, Any], bool]], long_lists: dict[str, list[str]]
) -> list[str]:
    lines = ["| field | type | required | values | description |", "|---|---|---|---|---|"]
    for path, node, required in rows:
        item = node.get("items") if node.get("type") == "array" else None
        about = node.get("description", "")
        if isinstance(item, dict) and item.get("description"):
            each = str(item["description"])
            about = f"{about} Each item: {each[:1].lower()}{each[1:]}".strip()
        lines.append(
            "| "
            + " | ".join(
                [
                    f"`{path}`",
                    _type(node),
                    "yes" if required else "",
                    _cell(_values(node, long_lists, path)),
                    _cell(about),
                ]
            )
            + " |"
        )
    return lines


def _long_lists(long_lists: dict[str, list[str]]) -> list[str]:
    lines: list[str] = []
    for field, options in long_lists.items():
        lines += ["", f"Values of `{field}` ({len(options)}):", ""]
        lines.append(", ".join(_code(o) for o in options))
    return lines


# -- the document ----------------------------------------------------------------------------


def _kind_section(vendor: registry.Vendor, kind: str) -> list[str]:
    raw = schemas.schema(kind)
    spec_node = raw["properties"]["spec"]
    spec_props = spec_node.get("properties", {})
    required = set(spec_node.get("required", []))
    ks = registry.kind_spec(kind)
    alias = vendor.name

    identity = ["provider"]
    for part in ks.identity:
        identity.append(f"`{part}`" + ("" if part in required else " (optional)"))
    address = "/".join([alias, kind, *(f"<{part}>" for part in ks.identity)])
    optional_parts = [p for p in ks.identity if p not in required]
    unmanaged = [
        name
        for name in spec_props
        if name not in required and name not in ks.identity and name not in NOT_STATE
    ]

    lines = [f"### {kind}", "", str(raw.get("description", "")), ""]
    lines.append(f"- **Provider type**: `{vendor.name}`")
    lines.append(f"- **Identity**: {', '.join(identity)}.")
    where = f"- **Address**: `{address}`"
    if optional_parts:
        shown = "/".join([alias, kind, *(f"<{p}>" for p in ks.identity if p in required)])
        where += f"; without {', '.join(f'`{p}`' for p in optional_parts)}: `{shown}`"
    lines.append(where + ".")
    if ks.members_field:
        lines.append(
            f"- **Share list**: `{ks.members_field}`, reconciled member by member; "
            "`members: authoritative` (default) or `additive` decides whether unlisted "
            "members are removed. The object itself is never created or deleted."
        )
    if ks.prune_key:
        lines.append(
            f"- **Prune**: with `prune: [{ks.prune_key}]` on the provider, a live {kind} that "
            "no manifest declares, in a scope the manifests name, is deleted."
        )
    else:
        lines.append(f"- **Prune**: never; a live {kind} no manifest declares is left alone.")
    if ks.replace_fields:
        fields = ", ".join(f"`{f}`" for f in ks.replace_fields)
        lines.append(f"- **Replaced** (deleted, then created) when {fields} changes.")
    if unmanaged:
        names = ", ".join(f"`{f}`" for f in unmanaged)
        lines.append(f"- **Not managed when left out**: {names}.")
    lines.append(f"- **Schema**: `{_rel(vendor.kind_schema(kind))}`")
    lines.append("")
    long_lists: dict[str, list[str]] = {}
    rows = [(f"spec.{p}", n, r) for p, n, r in _fields(spec_node)]
    lines += _table(rows, long_lists)
    lines += _long_lists(long_lists)
    lines += _example(vendor, kind)
    return lines


def _example(vendor: registry.Vendor, kind: str) -> list[str]:
    """The kind's example manifest from the vendor's examples folder, when it has one."""
    path = vendor.example(kind)
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8").strip("\n")
    return ["", f"Example (`{_rel(path)}`):", "", "```yaml", text, "```"]


def core_kinds() -> list[str]:
    """The kinds the core reads itself (no provider): `Person`."""
    return sorted(
        p.name.removesuffix(".schema.json") for p in schemas.SCHEMA_DIR.glob("[A-Z]*.json")
    )


def _core_section(kind: str) -> list[str]:
    raw = schemas.schema(kind)
    lines = [f"### {kind}", "", str(raw.get("description", "")), ""]
    lines.append("- **Provider**: none; the document takes no `provider:` and is never sent.")
    lines.append(f"- **Schema**: `{_rel(schemas.schema_path(kind))}`")
    lines.append("")
    long_lists: dict[str, list[str]] = {}
    lines += _table(
        [(f"spec.{p}", n, r) for p, n, r in _fields(raw["properties"]["spec"])], long_lists
    )
    lines += _long_lists(long_lists)
    return lines


def _envelope() -> list[str]:
    first = next(k for v in builtin_vendors() for k in vendor_kinds(v))
    raw = schemas.schema(first)
    rows = [
        (p, n, r)
        for p, n, r in _fields(raw)
        if p != "spec" and not p.startswith("spec.") and p != "kind"
    ]
    kind = ("kind", {"type": "string", "description": "The kind: one of those below."}, True)
    return _table([rows[0], kind, *rows[1:]], {})


def _id_table() -> list[str]:
    lines = ["| vendor | ids | pattern |", "|---|---|---|"]
    for vendor in builtin_vendors():
        fmt = registry.providers()[vendor.name].ID_FORMAT
        lines.append(f"| {vendor_title(vendor)} | {fmt.label} | `{fmt.pattern}` |")
    return lines


def _config_section() -> list[str]:
    raw = schemas.schema("config")
    long_lists: dict[str, list[str]] = {}
    core = schemas.core_provider_settings()
    provider = raw["$defs"]["provider"]
    lines = [
        "## reconciler.yaml",
        "",
        str(raw.get("description", "")),
        "See [configuration](configuration.md) for discovery, hosts, prune and safety.",
        "",
    ]
    lines += _table(list(_fields(raw)), long_lists)
    lines += ["", "Settings of every provider (`providers.<alias>.*`):", ""]
    lines += _table([(p, n, False) for p, n, _ in _fields(provider) if p in core], long_lists)
    lines += ["", "Settings of one vendor's providers only:", ""]
    rows = ["| vendor | field | type | values | description |", "|---|---|---|---|---|"]
    for vendor in builtin_vendors():
        path = vendor.settings_schema()
        if not path.is_file():
            continue
        fragment = json.loads(path.read_text())
        defaults = registry.providers()[vendor.name].DEFAULTS
        for name, node in fragment.get("properties", {}).items():
            about = node.get("description", "")
            if name == defaults.credential_key and defaults.credential_env not in about:
                about = f"{about} Default {defaults.credential_env}."
            rows.append(
                f"| {vendor_title(vendor)} | `{name}` | {_type(node)} | "
                f"{_cell(_values(node, long_lists, name))} | {_cell(about)} |"
            )
    lines += rows
    lines += _long_lists(long_lists)
    return lines


def render() -> str:
    vendors = builtin_vendors()
    lines = [
        "<!-- Generated by `python -m tools.docgen` from the JSON Schemas' descriptions;",
        "     edit the schemas, then run it again. tests/test_docs.py fails when stale. -->",
        "",
        "# Manifest reference",
        "",
        "A workspace is a directory of YAML files. Every `*.yaml` / `*.yml` under the paths "
        "given to a command is read, except hidden directories, the config file, files of "
        "kind `Config` or `SandboxState`, and what `.reconcilerignore` names "
        "(see [configuration](configuration.md)). A file may hold several documents "
        "separated by `---`; each declares one object.",
        "",
        "Each kind's JSON Schema is usable by editors: put "
        "`# yaml-language-server: $schema=<path to the schema>` at the top of a file.",
        "",
        "Kinds:",
        "",
    ]
    for vendor in vendors:
        for kind in vendor_kinds(vendor):
            lines.append(f"- [{kind}](#{kind.lower()}) ({vendor_title(vendor)})")
    for kind in core_kinds():
        lines.append(f"- [{kind}](#{kind.lower()}) (core: no provider)")
    lines += [
        "",
        "## Every document",
        "",
        "```yaml",
        "apiVersion: reconciler/v1",
        "kind: <Kind>",
        "provider: <alias>          # optional when exactly one provider of the kind's type exists",
        "metadata:                  # optional, never sent to an API",
        '  description: "..."',
        "  labels: {team: finance}",
        "spec: {...}                # per kind, below",
        "```",
        "",
    ]
    lines += _envelope()
    lines += [
        "",
        "## Identity and addresses",
        "",
        "A kind's **identity** is what makes two documents the same object: the provider "
        "alias and the identity fields listed for the kind. Two documents with the same "
        "identity are a validation error that names both files.",
        "",
        "An **address** names one object in plan output and in `--target`: "
        "`<provider>/<Kind>/<identity>`, the identity fields in the order listed for the "
        "kind, joined by `/`. A field that is absent is left out; `/` and `%` inside a "
        "value are percent-encoded (`%2F`, `%25`). The addresses below use the default "
        "alias, the vendor's type name.",
        "",
        "## Ids",
        "",
        "Every id is checked against its vendor's format at validate time, and again before "
        "it is placed in a URL:",
        "",
    ]
    lines += _id_table()
    lines += [
        "",
        "## `members` and fields left out",
        "",
        "The share-list kinds (a client's share rights, a folder's sharing or shares) manage "
        "a list of members on an object that already exists: they are never created or "
        "deleted as objects. Their `members` field says how the list is reconciled: "
        "`authoritative` (the default) makes the live list exactly the manifest's, revoking "
        "every unlisted member; `additive` adds listed members and changes their "
        "attributes, and never removes one.",
        "",
        "A scalar field left out of a spec is **not managed**: it is never compared, and "
        "where a write needs a full body its live value is sent back unchanged. Each kind "
        "lists its unmanaged-when-left-out fields.",
    ]
    for vendor in vendors:
        lines += ["", f"## {vendor_title(vendor)}", ""]
        for kind in vendor_kinds(vendor):
            lines += _kind_section(vendor, kind)
            lines.append("")
        lines.pop()
    lines += ["", "## Core kinds", ""]
    lines.append(
        "Read by reconciler itself, for reports: no provider, never sent to an API "
        "(see [the access report](access.md))."
    )
    for kind in core_kinds():
        lines += [""] + _core_section(kind)
    lines += [""]
    lines += _config_section()
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default {_rel(OUT)}")
    args = parser.parse_args(argv)
    text = render()
    current = args.out.read_text() if args.out.is_file() else None
    if args.check:
        if current != text:
            print(f"{args.out} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        safefile.write_text(args.out, text)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
