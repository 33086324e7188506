"""The import graph of bot/, handlers/ and models/ has no cycle, and no import hides inside a function
to dodge one (issue 15). The layer contract itself is `lint-imports` (pyproject.toml, `make lint`).

An import of our own code inside a function is allowed only with a reason on that statement,
`# lazy: <why>` (a heavy optional library, loaded only by the code that needs it), never to break a cycle: a cycle means
the code lives in the wrong module. Imports under `if TYPE_CHECKING:` are type hints, not imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "models")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(module: str, source: str, *, is_package: bool = False):
    """Each import of our own code in `module`: (imported module names, statement, inside a function?)."""
    tree = ast.parse(source)

    def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if node.level:
            package = module if is_package else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        return [base] + [f"{base}.{alias.name}" for alias in node.names]

    def walk(node: ast.AST, in_function: bool):
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                continue
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import | ast.ImportFrom):
                ours = [name for name in targets(child) if name.split(".")[0] in PACKAGES]
                if ours:
                    yield ours, child, inside
            yield from walk(child, inside)

    yield from walk(tree, False)


def _resolve(name: str) -> str | None:
    """`bot.x.y.Name` → the module `bot.x.y` (the longest known prefix)."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in MODULES:
            return ".".join(parts)
        parts.pop()
    return None


def import_graph() -> dict[str, set[str]]:
    """Module → the modules importing it runs: its targets and their packages' __init__ (outside its own)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for module, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        for names, _node, _in_function in _imports(module, source, is_package=path.name == "__init__.py"):
            for name in names:
                target = _resolve(name)
                if target is None or target == module:
                    continue
                parts = target.split(".")
                for end in range(1, len(parts) + 1):
                    ancestor = ".".join(parts[:end])
                    inside_it = module == ancestor or module.startswith(ancestor + ".")
                    if ancestor in MODULES and ancestor != module and not inside_it:
                        graph[module].add(ancestor)
    return graph


def unexplained_lazy_imports(module: str, source: str, *, is_package: bool = False) -> list[int]:
    """Line numbers of imports of our code inside a function without a `# lazy:` reason on the statement."""
    lines = source.splitlines()
    return [node.lineno for _names, node, in_function in _imports(module, source, is_package=is_package)
            if in_function and not any("# lazy:" in line for line in lines[node.lineno - 1: node.end_lineno])]


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _path_within(graph: dict[str, set[str]], members: list[str]) -> str:
    """One concrete loop through a cycle's modules, to say where to cut."""
    inside = set(members)
    start = members[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for nxt in sorted(graph[node] & inside):
            if nxt == start:
                loop = [node]
                while loop[-1] != start:
                    loop.append(previous[loop[-1]])
                return " -> ".join([start, *reversed(loop[:-1]), start])
            if nxt not in previous:
                previous[nxt] = node
                frontier.append(nxt)
    return ", ".join(members)


def test_our_modules_import_each_other_without_a_cycle():
    graph = import_graph()
    assert "bot.config" in graph and graph["bot.web"], "the scan found no modules: wrong root?"
    cycles = find_cycles(graph)
    assert not cycles, "import cycles (move the shared code down a layer):\n" + "\n".join(
        _path_within(graph, members) for members in cycles)


def test_no_import_of_our_code_inside_a_function_without_a_reason():
    unexplained = []
    for module, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for line in unexplained_lazy_imports(module, source, is_package=path.name == "__init__.py"):
            unexplained.append(f"{path.relative_to(ROOT)}:{line}: {lines[line - 1].strip()}")
    assert not unexplained, (
        "imports inside functions (move them to the top of the module; keep one only with a "
        "'# lazy: <reason>' comment when it is not dodging a cycle):\n" + "\n".join(unexplained))


def test_the_checks_catch_a_cycle_and_an_unexplained_import_inside_a_function():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    source = (
        "from typing import TYPE_CHECKING\n"
        "from bot.config import AppConfig\n"        # 2: top level
        "if TYPE_CHECKING:\n"
        "    from bot.web import create_app\n"      # 4: a type hint
        "def f():\n"
        "    from bot.db import make_engine\n"      # 6: hidden
        "    from . import sibling\n"               # 7: hidden, relative
        "    import json\n"                         # 8: not ours
        "    from models import (  # lazy: why\n"   # 9: explained
        "        Item,\n"
        "    )\n"
        "    return lambda: __import__('x')\n"
    )
    assert unexplained_lazy_imports("bot.example", source) == [6, 7]
