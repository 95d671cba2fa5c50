"""What every command shares: its options, logging, and the one way to print output."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import click

from reconciler.core import clock
from reconciler.core.errors import ReconcilerError
from reconciler.core.escape import no_commands, surrogates
from reconciler.core.model import Plan
from reconciler.core.redact import RedactingFormatter, redact
from reconciler.input import manifest, policy
from reconciler.input.config import find_config, load_config
from reconciler.plans import planfile
from reconciler.plugin.endpoints import trusting
from reconciler.plugin.http import install_redaction
from reconciler.plugin.registry import defaults
from reconciler.render import text
from reconciler.render.markdown import render_markdown

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

PLAN_FORMATS = ["text", "json", "markdown"]


@dataclass
class Options:
    verbose: int = 0
    color: bool | None = None
    config: str | None = None
    parallelism: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    policy: policy.Policy | None = None
    """The operator's policy (`--policy` / RECONCILER_POLICY), loaded by `policy_option`."""


COMMON_FLAGS = ("--config", "-v/--verbose", "--no-color", "--parallelism", "--policy")
"""The flags taken before the command (`reconciler -v plan`) as well as after it."""


def group_options(fn: Callable[..., None]) -> Callable[..., None]:
    """The common flags on the `reconciler` group itself, so that they may come before the
    command; `common` merges them with the command's own (the command's value wins, `-v`
    counts both)."""

    @click.option(
        "--config", "config", metavar="FILE", help="Config file (default: reconciler.yaml)."
    )
    @click.option("-v", "--verbose", count=True, help="Log each HTTP call; tracebacks on errors.")
    @click.option("--no-color", is_flag=True, help="Never colour the output.")
    @click.option("--parallelism", type=click.IntRange(1, 256), help="Concurrent API requests.")
    @click.option(
        "--policy",
        "policy_file",
        metavar="FILE",
        help="The operator's policy (plan, apply, drift, validate, expiring, access).",
    )
    @functools.wraps(fn)
    def wrapper(**kw: Any) -> None:
        click.get_current_context().meta["before"] = kw
        fn()

    return wrapper


def _before() -> dict[str, Any]:
    """The common flags given before the command (`group_options`)."""
    return dict(click.get_current_context().meta.get("before") or {})


def common(fn: Callable[..., int]) -> Callable[..., int]:
    """The flags every command takes, gathered into `opts` (also accepted before the
    command: `group_options`)."""

    @click.option(
        "--config", "config", metavar="FILE", help="Config file (default: reconciler.yaml)."
    )
    @click.option("-v", "--verbose", count=True, help="Log each HTTP call; tracebacks on errors.")
    @click.option("--no-color", is_flag=True, help="Never colour the output.")
    @click.option("--parallelism", type=click.IntRange(1, 256), help="Concurrent API requests.")
    @functools.wraps(fn)
    def wrapper(
        config: str | None, verbose: int, no_color: bool, parallelism: int | None, **kw: Any
    ) -> int:
        before = _before()
        ctx = click.get_current_context()
        if before.get("policy_file") and not getattr(fn, "takes_policy", False):
            raise click.UsageError(f"--policy does not apply to {ctx.info_name}", ctx)
        verbose += before.get("verbose") or 0
        no_color = no_color or bool(before.get("no_color"))
        config = config or before.get("config")
        parallelism = parallelism or before.get("parallelism")
        opts = Options(verbose, False if no_color else None, config, parallelism)
        ctx.meta["opts"] = opts
        setup_logging(verbose)
        return fn(opts, **kw)

    return wrapper


def _here(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    return value or (".",)


def paths_argument(fn: click.decorators.FC) -> click.decorators.FC:
    """`PATH...`, the current directory when none is given (as terraform does)."""
    return click.argument("paths", nargs=-1, callback=_here, metavar="[PATH]...")(fn)


def require_manifests(paths: tuple[str, ...] | list[str], config: str | None) -> None:
    """Refuse a run over no manifest at all (exit 1): a drift job over an empty checkout
    must not pass on nothing. The config's own problems come first, as the run would report
    them; paths that do not exist are reported by the load itself. Call it where the run
    loads its workspace (inside `maybe_sandbox`)."""
    found = find_config(config, list(paths))
    load_config(found, defaults())
    files, problems = manifest.discover(list(paths), str(found) if found else None)
    if not files and not problems:
        raise ReconcilerError(f"no manifests under {', '.join(paths)}")


def policy_option(fn: Callable[..., int]) -> Callable[..., int]:
    """`--policy FILE` (else RECONCILER_POLICY; the flag wins): the operator's policy,
    loaded and checked before anything else (a file inside a manifest PATH is refused) and
    left in `opts.policy`; while the command runs, its providers' hosts are trusted as if
    listed in RECONCILER_ALLOW_HOSTS. Goes below `@common`'s line, as `opts` comes first."""

    @click.option(
        "--policy",
        "policy_file",
        metavar="FILE",
        help="The operator's policy, kept outside the workspace (default: $RECONCILER_POLICY).",
    )
    @functools.wraps(fn)
    def wrapper(*args: Any, policy_file: str | None, **kw: Any) -> int:
        opts: Options = args[0]
        file = policy.locate(policy_file or _before().get("policy_file"))
        paths = [str(p) for p in kw.get("paths") or ()]
        opts.policy = manifest.load_policy(file, paths) if file else None
        with trusting(opts.policy.hosts if opts.policy else ()):
            return fn(*args, **kw)

    wrapper.takes_policy = True  # type: ignore[attr-defined]
    return wrapper


def sandbox_options(fn: click.decorators.FC) -> click.decorators.FC:
    """`--sandbox` and `--sandbox-state`, for the commands that talk to providers."""
    fn = click.option(
        "--sandbox-state",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="Seed for --sandbox (default: sandbox-state.yaml beside the manifests, "
        "else examples/sandbox-state.yaml).",
    )(fn)
    return click.option(
        "--sandbox", is_flag=True, help="Run against the built-in sandbox, started in-process."
    )(fn)


def provider_option(fn: click.decorators.FC) -> click.decorators.FC:
    """`--provider ALIAS` (repeatable), as `only`: limit the run to those providers'
    documents and calls (plan, apply, drift, access), e.g. one CI-matrix job per vendor
    account. An unknown alias is an error naming the known ones (`workflow.check_aliases`)."""
    return click.option(
        "--provider",
        "only",
        multiple=True,
        metavar="ALIAS",
        help="Only this provider's documents and API calls (repeatable).",
    )(fn)


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return clock.parse_at(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def at_option(fn: Callable[..., int]) -> Callable[..., int]:
    """`--at DATE|TIMESTAMP` (plan, apply, drift, expiring, access): the command runs with
    `clock.now()` set to that time, so expiries are evaluated then (docs/governance.md). The value
    is also left in `ctx.meta["at"]` for a command that must refuse it."""

    @click.option(
        "--at",
        "at",
        metavar="DATE|TIMESTAMP",
        callback=_when,
        help="Evaluate expiries at this time, not now (a date means 00:00 UTC).",
    )
    @functools.wraps(fn)
    def wrapper(*args: Any, at: datetime | None, **kw: Any) -> int:
        click.get_current_context().meta["at"] = at
        with clock.frozen(at):
            return fn(*args, **kw)

    return wrapper


def plan_format(fn: click.decorators.FC) -> click.decorators.FC:
    return click.option("--format", "fmt", type=click.Choice(PLAN_FORMATS), default="text")(fn)


def setup_logging(verbose: int) -> None:
    """Log records on stderr, masked and escaped; INFO and up with -v."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    install_redaction()


def echo(text: str, opts: Options, err: bool = False, annotations: bool = False) -> None:
    """Print rendered output: never a credential, and no line GitHub would run as a
    workflow command unless `annotations` (validate --format github, whose data is
    escaped by the renderer)."""
    text = surrogates(redact(text))
    click.echo(text if annotations else no_commands(text), color=opts.color, err=err)


def render_plan(plan: Plan, fmt: str, title: str = "Plan") -> str:
    """A plan in one of PLAN_FORMATS; json is the plan file itself."""
    if fmt == "json":
        return planfile.dumps(plan).rstrip("\n")
    if fmt == "markdown":
        return render_markdown(plan, title)
    return text.render_plan(plan)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"
