"""The import graph of reconciler/ follows the layers and has no cycle, counting every import.

Every import of a reconciler module is an edge: at module level, under `if TYPE_CHECKING:`
(it never runs, but it still couples the two modules) and inside a function. No edge may
point up a layer (`LAYERS`, lowest first) and the graph of all edges has no cycle; the one
exception is `UPWARD`, the registry's discovery of `vendors/` (importlib and entry points,
by design: discovery, not a dependency). Each import inside a function also has its reason
in `LAZY`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "reconciler"

# (importer, imported): why the import sits inside a function.
LAZY = {
    ("reconciler.plugin.registry", "reconciler.vendors"): (
        "vendor discovery walks the package's folders on first use, not at import"
    ),
    # The sandbox server (aiohttp's web server) loads only for --sandbox, `sandbox serve`
    # and the demo: every other command starts without it.
    ("reconciler.commands.session", "reconciler.sandbox"): "start-up time",
    ("reconciler.commands.session", "reconciler.sandbox.state"): "start-up time",
    ("reconciler.commands.sandbox_cmd", "reconciler.sandbox"): "start-up time",
    ("reconciler.commands.sandbox_cmd", "reconciler.sandbox.state"): "start-up time",
}


# The layers, lowest first: a module may import from its own layer or a lower one. A module's
# layer is its folder under reconciler/ (cli.py is its own); the package's root `__init__`
# (the version) sits below everything, `__main__` (runs the cli) above everything.
LAYERS: tuple[str, ...] = (
    "reconciler",  # reconciler/__init__.py
    "core",
    "plugin",
    "sandbox",
    "vendors",
    "governance",
    "input",
    "plans",
    "engine",
    "render",
    "access",
    "commands",
    "cli",
    "__main__",
)

# The registry's discovery of `vendors/`: it walks the vendor folders on first use.
DISCOVERY = {
    ("reconciler.plugin.registry", "reconciler.vendors"): (
        "discovery: the registry walks the vendor folders on first use"
    ),
}

# (importer, imported): the imports allowed to point up a layer, each with its reason.
UPWARD = {**DISCOVERY}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module `name` loads: `a.b.c` may be the attribute `c` of the module `a.b`."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(importer: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The reconciler modules an import statement runs: the module, its attributes that are
    modules, and the packages above them (except the importer's own, already running)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            is_package = MODULES[importer].name == "__init__.py"
            package = importer.rsplit(".", node.level - is_package)[0]
            base = f"{package}.{base}" if base else package
        names = [base] + [f"{base}.{a.name}" for a in node.names]
    out = set()
    for name in names:
        module = _resolve(name) if name.split(".")[0] == "reconciler" else None
        while module:
            if module != importer and not importer.startswith(module + "."):
                out.add(module)
            module = module.rpartition(".")[0]
    return out


Edge = tuple[str, str, int]


def _scan(module: str, source: str) -> tuple[set[str], list[Edge], list[Edge]]:
    """The reconciler modules `source` (the text of `module`) imports: at module level, in
    functions (with their lines) and under `if TYPE_CHECKING:` (with their lines)."""
    runs: set[str] = set()
    lazy: list[Edge] = []
    typing_only: list[Edge] = []

    def visit(node: ast.AST, in_function: bool, for_types: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.body:
                    visit(ast.Module([other], []), in_function, True)
                for other in child.orelse:
                    visit(ast.Module([other], []), in_function, for_types)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _targets(module, child):
                    if for_types:
                        typing_only.append((module, target, child.lineno))
                    elif in_function:
                        lazy.append((module, target, child.lineno))
                    else:
                        runs.add(target)
            fn = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, in_function or fn, for_types)

    visit(ast.parse(source), False, False)
    return runs, lazy, typing_only


def _edges() -> tuple[dict[str, set[str]], list[Edge], list[Edge]]:
    """Module-level edges that run; the imports inside functions and those under
    `if TYPE_CHECKING:`, each as (importer, imported, line)."""
    graph: dict[str, set[str]] = {}
    lazy: list[Edge] = []
    typing_only: list[Edge] = []
    for module, path in MODULES.items():
        graph[module], more_lazy, more_typing = _scan(module, path.read_text(encoding="utf-8"))
        lazy += more_lazy
        typing_only += more_typing
    return graph, lazy, typing_only


def _upward(edges: list[Edge]) -> list[str]:
    """The edges that point up a layer and are not in `UPWARD`."""
    return sorted(
        {
            f"{m} ({layer(m)}) imports {t} ({layer(t)})" + (f", line {n}" if n else "")
            for m, t, n in edges
            if LAYERS.index(layer(t)) > LAYERS.index(layer(m)) and (m, t) not in UPWARD
        }
    )


def _imports() -> tuple[dict[str, set[str]], list[Edge]]:
    """Module-level edges that run, and the imports inside functions."""
    graph, lazy, _ = _edges()
    return graph, lazy


def _every_edge() -> list[Edge]:
    """Every import of a reconciler module, wherever it sits."""
    graph, lazy, typing_only = _edges()
    module_level = [(m, t, 0) for m, deps in graph.items() for t in deps]
    return module_level + lazy + typing_only


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the modules along it, or None."""
    done: set[str] = set()
    stack: list[str] = []
    on_stack: set[str] = set()

    def walk(node: str) -> list[str] | None:
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_stack:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in done:
                found = walk(nxt)
                if found:
                    return found
        stack.pop()
        on_stack.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            found = walk(start)
            if found:
                return found
    return None


def test_every_module_has_a_layer() -> None:
    unknown = sorted(m for m in MODULES if layer(m) not in LAYERS)
    assert not unknown, f"modules in no layer of LAYERS: {unknown}"
    assert layer("reconciler.core.errors") == "core" and layer("reconciler.cli") == "cli"


def test_no_import_points_up_a_layer() -> None:
    """Type-only and function-level imports included; `UPWARD` is the whole allowlist."""
    edges = _every_edge()
    assert len(edges) > 200, "the imports were not read"
    up = _upward(edges)
    assert not up, "imports that point up a layer:\n" + "\n".join(up)


def test_the_upward_allowlist_is_short_and_each_entry_is_still_needed() -> None:
    edges = {(m, t) for m, t, _ in _every_edge()}
    assert len(UPWARD) <= 3
    stale = sorted(f"{m} -> {t}" for m, t in UPWARD if (m, t) not in edges)
    assert not stale, "UPWARD lists imports that no longer exist:\n" + "\n".join(stale)


def test_no_cycle_counting_type_only_and_function_level_imports() -> None:
    """Only the registry's discovery of `vendors/` is left out (vendors import the
    registry's contract, the registry finds them at run time)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m, t, _ in _every_edge():
        if (m, t) not in DISCOVERY:
            graph[m].add(t)
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_type_only_upward_import_and_its_cycle_are_caught() -> None:
    """The checks fail on what they are for: core/model.py importing a guard type under
    `if TYPE_CHECKING:` (the old 9-module cycle began so) and a plugin importing a command
    inside a function."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from reconciler.core.errors import Problem\n"
        "if TYPE_CHECKING:\n"
        "    from reconciler.governance.guards import Finding\n"
    )
    runs, lazy, typing_only = _scan("reconciler.core.model", source)
    assert "reconciler.core.errors" in runs
    assert ("reconciler.core.model", "reconciler.governance.guards", 4) in typing_only
    assert (
        "reconciler.core.model (core) imports reconciler.governance.guards (governance), line 4"
        in _upward(typing_only)
    )
    _, lazy, _ = _scan("reconciler.plugin.http", "def f():\n    from reconciler.cli import main\n")
    assert _upward(lazy) == ["reconciler.plugin.http (plugin) imports reconciler.cli (cli), line 2"]
    assert _upward([("reconciler.plugin.registry", "reconciler.vendors", 0)]) == []
    graph = {m: set(deps) for m, deps in _imports()[0].items()}
    graph["reconciler.core.model"].add("reconciler.governance.guards")
    assert _cycle(graph) is not None


def test_the_module_level_import_graph_has_no_cycle() -> None:
    graph, _ = _imports()
    assert len(graph) > 30 and graph["reconciler.cli"], "the graph was not built"
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_inside_a_function_hides_a_cycle() -> None:
    graph, lazy = _imports()
    hidden = []
    for importer, target, line in lazy:
        trial = {m: set(deps) for m, deps in graph.items()}
        trial[importer].add(target)
        cycle = _cycle(trial)
        if cycle and importer in cycle and target in cycle:
            hidden.append(f"{importer}:{line} imports {target}: " + " -> ".join(cycle))
    assert not hidden, "cycles hidden in functions:\n" + "\n".join(hidden)


def test_every_import_inside_a_function_has_a_reason() -> None:
    _, lazy = _imports()
    unexplained = sorted({f"{m} -> {t} (line {n})" for m, t, n in lazy if (m, t) not in LAZY})
    assert not unexplained, "imports inside functions, not listed in LAZY:\n" + "\n".join(
        unexplained
    )


def test_the_cli_imports_the_commands_and_no_command_imports_the_cli() -> None:
    graph, _ = _imports()
    commands = {m for m in MODULES if m.startswith("reconciler.commands.")}
    helpers = {"options", "error_handler", "progress", "session"}
    assert {m for m in commands if m.rpartition(".")[2] not in helpers} <= graph["reconciler.cli"]
    assert [m for m in MODULES if "reconciler.cli" in graph[m]] == ["reconciler.__main__"]
    workflow = graph["reconciler.engine.workflow"]
    assert [t for t in workflow if t.startswith("reconciler.commands")] == []


def test_no_vendor_module_reaches_the_commands_or_the_cli() -> None:
    """The registry loads vendor modules by name (discovery, no static edge), so this is
    checked from the vendor side: nothing a vendor module imports, at module level or in a
    function, leads back into the command layer."""
    graph, lazy = _imports()
    for importer, target, _ in lazy:
        graph[importer].add(target)
    vendors = [m for m in MODULES if m.startswith("reconciler.vendors.")]
    assert vendors, "no vendor module found"
    for vendor in vendors:
        seen, todo = set(), [vendor]
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            todo.extend(graph.get(module, ()))
        bad = sorted(
            m for m in seen if m == "reconciler.cli" or m.startswith("reconciler.commands")
        )
        assert not bad, f"{vendor} reaches {', '.join(bad)}"
