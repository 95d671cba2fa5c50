"""`reconciler init [DIR]`: a new workspace, ready to validate and to plan on the sandbox.

It writes a commented `reconciler.yaml` (one provider per vendor), one example manifest per
kind (each vendor's own `examples/<Kind>.yaml`, shipped in the package), a
`.reconcilerignore`, and with `--ci github` the three workflow templates under
`.github/workflows/`. Every file goes through core/safefile.py; a directory that already
holds anything is refused, so nothing is ever overwritten.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.commands.options import EXIT_OK, Options, common, echo, plural
from reconciler.core import safefile
from reconciler.core.errors import ReconcilerError
from reconciler.core.settings import VendorDefaults
from reconciler.plugin import registry

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
"""The example workspace shipped in the package (a copy of the repository's examples/)."""
WORKFLOWS = EXAMPLES / "github-workflows"

PLACEHOLDER_BASE_URL = "https://CHANGE-ME.invalid"

HEADER = """\
# The workspace's config (docs/configuration.md): the providers its manifests use, where
# their credentials come from, what may be pruned, and the safety thresholds. Credentials
# are never written here: only the names of the environment variables holding them.
apiVersion: reconciler/v1
kind: Config
providers:
"""

SETTINGS = """\
settings:
  parallelism: 10             # concurrent API requests across the run
  safety:                     # a plan over these thresholds needs --force
    max_delete_percent: 50
    max_update_percent: 60
    min_existing: 10
  # max_grant_days: 365       # the furthest ahead an `expires:` may be
  # protect: []               # addresses of undeclared objects prune never deletes
  # ignore: []                # accepted differences, each with owner, reason and until
  # Governance: docs/governance.md
"""

IGNORE = """\
# Files under this workspace that are not manifests, one glob a line (like `deploy/`):
# a Kubernetes manifest, a CI file. Hidden directories (.github/) are never read.
"""

# The templates expect the workspace in access/ of the repository; init writes it at the
# root of DIR, so their paths are rewritten to the root (longest first).
_TO_ROOT = (
    ('"access/**"', '"**"'),
    ("access/reconciler.yaml", "reconciler.yaml"),
    ("paths: access/", "paths: ."),
    ("reconciler.yaml in access/", "reconciler.yaml at the repository root"),
    ("the manifests in access/", "the manifests"),
)


def _example_base_url(vtype: str) -> str:
    """The example workspace's base URL for a vendor with no default one (Salesforce's
    org), else a placeholder the user must replace."""
    import yaml

    try:
        doc = yaml.safe_load((EXAMPLES / "reconciler.yaml").read_text(encoding="utf-8"))
        for raw in (doc.get("providers") or {}).values():
            if raw.get("type") == vtype and raw.get("base_url"):
                return str(raw["base_url"])
    except (OSError, yaml.YAMLError, AttributeError):
        pass
    return PLACEHOLDER_BASE_URL


def _provider_block(vtype: str, d: VendorDefaults) -> str:
    lines = [f"  {vtype}:", f"    type: {vtype}"]
    if not d.base_url:
        env = f" (or {d.required_base_url_env})" if d.required_base_url_env else ""
        lines.append(f"    base_url: {_example_base_url(vtype)}   # required: replace with yours")
        lines.append(f"    # its host is allowed by the operator: RECONCILER_ALLOW_HOSTS{env};")
        lines.append("    # plan and apply refuse it until then (--sandbox needs not)")
    lines.append(
        f"    {d.credential_key}: {d.credential_env}   # the variable holding its credential"
    )
    lines.append("    # prune: []              # kinds whose undeclared objects apply deletes")
    return "\n".join(lines) + "\n"


def config_text(types: list[str]) -> str:
    """The commented `reconciler.yaml` for these provider types."""
    known = registry.defaults()
    return HEADER + "".join(_provider_block(t, known[t]) for t in types) + SETTINGS


def workflow_text(text: str) -> str:
    for old, new in _TO_ROOT:
        text = text.replace(old, new)
    return text


def files(ci: str | None) -> dict[str, str]:
    """What init writes: relative path -> text."""
    out: dict[str, str] = {}
    types = []
    for vtype, vendor in registry.vendors().items():
        cls = vendor.provider_class()
        for kind in cls.KINDS:
            example = vendor.example(kind)
            if example.is_file():
                out[f"{vtype}/{kind}.yaml"] = example.read_text(encoding="utf-8")
                if vtype not in types:
                    types.append(vtype)
    if not out:
        raise ReconcilerError("init: this installation ships no example manifests")
    out["reconciler.yaml"] = config_text(types)
    out[".reconcilerignore"] = IGNORE
    if ci == "github":
        for template in sorted(WORKFLOWS.glob("*.yml")):
            text = workflow_text(template.read_text(encoding="utf-8"))
            out[f".github/workflows/{template.name}"] = text
    return dict(sorted(out.items()))


@click.command()
@click.argument("directory", metavar="[DIR]", default=".", type=click.Path(file_okay=False))
@click.option(
    "--ci",
    type=click.Choice(["github"]),
    help="Also write the pipeline's workflow templates (.github/workflows/).",
)
@common
def init(opts: Options, directory: str, ci: str | None) -> int:
    """Start a workspace in DIR (default: the current directory), which must be empty or
    new: a commented reconciler.yaml, one example manifest per kind, .reconcilerignore."""
    root = Path(directory)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ReconcilerError(
            f"{directory} is not empty: init writes only into an empty or new directory, "
            "so that nothing is overwritten"
        )
    written = files(ci)
    for rel, text in written.items():
        path = root / rel
        safefile.make_dirs(path.parent, what="init")
        safefile.write_text(path, text, what="init")
    echo(f"Wrote {plural(len(written), 'file')} to {directory}:", opts)
    for rel in written:
        echo(f"  {rel}", opts)
    shown = directory if directory != "." else "."
    echo(
        f"Next: reconciler validate {shown}, then reconciler plan {shown} --sandbox "
        "(docs/getting-started.md).",
        opts,
    )
    return EXIT_OK


COMMANDS = [init]
