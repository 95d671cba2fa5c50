"""Names and values from manifests and APIs are data, never markup or terminal commands.

A role name read from the vendor (or a file name in the pull request) tries to forge a
GitHub workflow command (`\\n::warning ...`), fake the plan's summary in a PR comment,
close the `<details>` block, start a heading, or erase a deletion line on a terminal
(`\\x1b[1A\\x1b[2K`). Text shows it escaped; markdown escapes it; no printed line other
than our own annotations starts with `::`.
"""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from reconciler.core.model import LiveObject, Resource
from reconciler.plugin.provider import Provider
from reconciler.sandbox import Sandbox
from reconciler.sandbox.core import VendorApp
from tests.support.harness import RunCli, Workspace

EVIL = {
    "command": "Evil\n::warning file=README.md::pwned",
    "summary": "Fake\n**No changes. Live state matches the manifests.**",
    "details": "Close</details>\n\n# heading\n<img src=x onerror=alert(1)>",
    "erase": "Erase\x1b[1A\x1b[2K",
    "bidi": "Bidi\u202eevil\u2066",
    "cr": "Carriage\r::error::pwned",
    "fence": "Fence\n```\n## out of the block",
}


def _roles() -> list[dict[str, object]]:
    return [
        {"id": f"{i:032x}", "name": name, "description": name, "permissions": []}
        for i, name in enumerate(EVIL.values(), start=1)
    ]


@pytest.fixture
def evil_roles(sandbox: Sandbox, ws: Workspace) -> Workspace:
    """Live Klipfolio roles with hostile names, pruned: each one is a planned deletion."""
    sandbox.state["klipfolio"] = {"roles": _roles(), "groups": [], "clients": []}
    ws.config(providers="klipfolio.prune: [roles]\nklipfolio.rate_limit_per_second: 0")
    ws.write(
        "roles.yaml",
        """
        apiVersion: reconciler/v1
        kind: KlipfolioRole
        spec: {name: Keep, description: k, permissions: []}
        """,
    )
    return ws


def _physical_lines(text: str) -> list[str]:
    """Lines as a terminal or GitHub's runner splits them (\\r, \\n and friends)."""
    return re.split(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", text)


def _outside_code(lines: list[str]) -> list[str]:
    """The lines GitHub renders as markdown/HTML: fenced code blocks left out."""
    out, fence = [], ""
    for line in lines:
        run = re.match(r" {0,3}(`{3,})", line)
        if fence:
            if run and len(run.group(1)) >= len(fence) and not line.strip().strip("`"):
                fence = ""
        elif run:
            fence = run.group(1)
        else:
            out.append(line)
    return out


def _no_forged_lines(*texts: str) -> None:
    for text in texts:
        assert "\x1b" not in text and "\u202e" not in text and "\r" not in text
        for line in _physical_lines(text):
            assert not line.lstrip().startswith("::"), line
            assert not line.startswith("**No changes"), line


def test_text_plan_shows_hostile_names_escaped(evil_roles: Workspace, cli: RunCli) -> None:
    res = cli("plan", str(evil_roles.root), "--no-color")
    assert res.code == 0, res.err
    _no_forged_lines(res.out, res.err)
    assert r"Erase\x1b[1A\x1b[2K" in res.out
    assert r"Evil\n::warning file=README.md::pwned" in res.out
    assert r"Bidi\u202eevil\u2066" in res.out
    deletions = [line for line in res.out.splitlines() if line.startswith("  - klipfolio/")]
    assert len(deletions) == len(EVIL), res.out
    assert "Plan: 1 to create, 0 to update, 0 to replace, 7 to delete." in res.out


def test_apply_results_and_drift_show_hostile_names_escaped(
    evil_roles: Workspace, cli: RunCli
) -> None:
    drift = cli("drift", str(evil_roles.root), "--no-color")
    assert drift.code == 2, drift.err
    applied = cli("apply", str(evil_roles.root), "--auto-approve", "--no-color")
    assert applied.code == 0, applied.err
    _no_forged_lines(drift.out, drift.err, applied.out, applied.err)
    assert r"applied  klipfolio/KlipfolioRole/Erase\x1b[1A\x1b[2K" in applied.out


def test_markdown_plan_keeps_each_hostile_name_in_its_section(
    evil_roles: Workspace, cli: RunCli
) -> None:
    res = cli("plan", str(evil_roles.root), "--format", "markdown")
    assert res.code == 0, res.err
    md = res.out
    _no_forged_lines(md)
    lines = md.splitlines()
    # Our structure, and only ours: the headings, one summary, one section per change.
    headings = [x for x in lines if x.lstrip().startswith("#")]
    assert headings == ["### reconciler plan", "#### Risk summary"]
    assert [x for x in lines if x.startswith("**")] == [
        "**Plan: 1 to create, 0 to update, 0 to replace, 7 to delete.**"
    ]
    opens = [x for x in lines if x.startswith("<details>")]
    assert len(opens) == 8 and lines.count("</details>") == 8
    prose = _outside_code(lines)
    assert sum("</details>" in x for x in prose) == 8 and sum("<details>" in x for x in prose) == 8
    assert not any("<img" in x for x in prose)
    assert "</details>\n\n# heading" not in md
    # Inside the code block, a value never closes the fence.
    fences = [x for x in lines if x.startswith("```")]
    assert len(fences) == 16
    assert all(f.lstrip("`") in ("", "diff") for f in fences)
    assert any(f.startswith("````") for f in fences), "a value with ``` gets a longer fence"
    summaries = [x for x in opens if "Close" in x]
    assert (
        summaries and "Close&lt;%2Fdetails&gt;" in summaries[0] and r"\n\n# heading" in summaries[0]
    )


def test_markdown_table_cells_escape_pipes_and_markup() -> None:
    from reconciler.core import escape

    cell = escape.markdown("a|b\n# h</details>**x**[l](http://e)")
    assert "|" not in cell.replace(r"\|", "")
    assert "\n" not in cell and "<" not in cell and "**" not in cell and "](" not in cell


def test_an_error_line_quoting_a_vendor_message_is_escaped(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.state["klipfolio"] = {"roles": [], "groups": [], "clients": []}
    ws.config()
    ws.write(
        "roles.yaml",
        """
        apiVersion: reconciler/v1
        kind: KlipfolioRole
        spec: {name: Keep, description: k, permissions: []}
        """,
    )
    app = sandbox.vendors["klipfolio"]

    def admit(self: VendorApp, headers: dict[str, str], path: str) -> web.Response | None:
        return self.error(401, "nope\n::warning file=x::pwned\x1b[2K\r::error::again")

    monkeypatch.setattr(type(app), "admit", admit)
    for args in (("plan", str(ws.root)), ("plan", str(ws.root), "-v")):
        res = cli(*args)
        assert res.code == 1, res.err
        _no_forged_lines(res.out, res.err)
        assert r"nope\n::warning file=x::pwned\x1b[2K\r::error::again" in res.err


def test_an_internal_error_message_cannot_forge_a_line(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.plugin.registry import PROVIDERS

    ws.config()
    ws.write(
        "roles.yaml",
        """
        apiVersion: reconciler/v1
        kind: KlipfolioRole
        spec: {name: Keep, description: k, permissions: []}
        """,
    )

    async def broken(
        self: Provider, kind: str, resources: list[Resource], prune: bool
    ) -> list[LiveObject]:
        raise RuntimeError("boom\n::warning file=x::pwned\x1b[1A\x1b[2K")

    monkeypatch.setattr(PROVIDERS["klipfolio"], "read", broken)
    res = cli("plan", str(ws.root), "-v")
    assert res.code == 3 and "Traceback" in res.err
    _no_forged_lines(res.out, res.err)


HOSTILE_FILE = "::error file=x::pwned.yaml"
BAD_DOC = """\
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: "Ops\\n::warning file=y::pwned\\u001b[2K"
  description: d
  surprise: 1
---
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: Ops
  permissions: ["Ops\\n::warning file=y::pwned"]
"""


@pytest.fixture
def hostile_file(ws: Workspace) -> Workspace:
    ws.config()
    (ws.root / HOSTILE_FILE).write_text(BAD_DOC)
    return ws


def test_validate_text_never_starts_a_line_with_a_command(
    hostile_file: Workspace, cli: RunCli
) -> None:
    res = cli("validate", str(hostile_file.root))
    assert res.code == 1
    assert HOSTILE_FILE in res.out + res.err, "the problems name the file"
    _no_forged_lines(res.out, res.err)
    # Relative to the workspace, the line would start with the file name.
    rel = cli("validate", HOSTILE_FILE, "--config", str(hostile_file.root / "reconciler.yaml"))
    _no_forged_lines(rel.out, rel.err)


def test_validate_github_escapes_properties_and_data(
    hostile_file: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(hostile_file.root)
    res = cli("validate", HOSTILE_FILE, "--format", "github")
    assert res.code == 1
    commands = [x for x in _physical_lines(res.out) if x.lstrip().startswith("::")]
    assert commands and len(commands) == len([x for x in res.out.splitlines() if x])
    for command in commands:
        assert command.startswith("::error file=%3A%3Aerror file=x%3A%3Apwned.yaml,line="), command
        assert "::warning" not in command.split("::", 3)[-1].split("%0A")[0]
    assert r"unknown permission 'Ops\n::warning file=y::pwned'" in res.out
    assert "\x1b" not in res.out + res.err


def test_escape_text_shows_every_control_character() -> None:
    from reconciler.core import escape

    for ch in ["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u202e", "\u2066"]:
        shown = escape.text(f"a{ch}b")
        assert ch not in shown and shown.startswith("a\\") and shown.endswith("b")
    assert escape.text("plain ünïcode ok") == "plain ünïcode ok"
    assert escape.text(escape.text("x\ny")) == escape.text("x\ny")
    assert escape.github_data("a%b\r\nc") == "a%25b%0D%0Ac"
    assert escape.github_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
