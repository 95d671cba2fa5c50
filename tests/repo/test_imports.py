"""The import graph of reconciler/ has no cycle, not even one hidden in a function.

Module-level imports of reconciler modules make the graph (those under `if TYPE_CHECKING:`
are left out: they never run). An import inside a function is a cycle in hiding when it
would close a cycle at module level; every other one is listed below with its reason.
`registry.py` loads vendor modules with importlib and entry points, by design: that is
discovery, not a static import.
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


def _imports() -> tuple[dict[str, set[str]], list[tuple[str, str, int]]]:
    """Module-level edges, and the imports inside functions as (importer, imported, line)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    lazy: list[tuple[str, str, int]] = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))

        def visit(node: ast.AST, in_function: bool, module: str = module) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    for other in child.orelse:
                        visit(other, in_function)
                    continue
                if isinstance(child, ast.Import | ast.ImportFrom):
                    for target in _targets(module, child):
                        if in_function:
                            lazy.append((module, target, child.lineno))
                        else:
                            graph[module].add(target)
                fn = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                visit(child, in_function or fn)

        visit(tree, False)
    return graph, lazy


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
