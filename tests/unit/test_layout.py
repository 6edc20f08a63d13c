"""The package's shape: rooms in one order, no import upward, no circle, imports at the top.

``ls aurora/`` is the pipeline and its edges; these tests keep it that way. Each module's
imports are read with ``ast`` (nothing is imported), so a violation is named precisely.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "aurora"
# Lowest first: a room may import its own modules, the foundation and the rooms before it.
ROOMS = ("host", "config", "engines", "pipeline", "supply", "deploy", "checks", "cli")
# Modules at the package's top that every room may use: errors, choices, image references, resources,
# the Reporter.
FOUNDATION = ("aurora", "aurora.errors", "aurora.choices", "aurora.refs", "aurora.resources", "aurora._release",
              "aurora.report")
# Imports inside a function, allowed only where they keep `aurora --help` fast: the commands
# import the pipeline when they run, and the Docker SDK (an optional extra) and the Kubernetes client
# are imported on use; the SBOM's libraries (CycloneDX, SPDX: 0.3 s) only by a push that attaches one
# (supply/publish.py), so a code change's `aurora build --push --no-sbom` does not wait for them.
LAZY_OK = ("aurora.cli", "aurora.host.dockerapi", "aurora.host.kubeapi", "aurora.supply.publish")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a module, not a name in it)
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, source: str, is_package: bool, known: dict[str, Path]) -> list[str]:
    """The aurora modules an import statement names (a name inside a module counts as the module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "aurora"]
    base = node.module or ""
    if node.level:  # relative: resolve against this module's package
        package = source.split(".") if is_package else source.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    if base.split(".")[0] != "aurora":
        return []
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def _walk(node: ast.AST, in_function: bool, source: str, is_package: bool, known: dict[str, Path],
          out: list[Import]) -> None:
    for child in ast.iter_child_nodes(node):
        inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            out += [Import(source, target, child.lineno, inside)
                    for target in _targets(child, source, is_package, known)]
        _walk(child, inside, source, is_package, known, out)


def imports(known: dict[str, Path] | None = None) -> list[Import]:
    known = known if known is not None else modules()
    out: list[Import] = []
    for source, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        _walk(tree, False, source, path.name == "__init__.py", known, out)
    return out


def rank(module: str) -> int:
    if module == "aurora.__main__":
        return len(ROOMS) + 1  # `python -m aurora` is the command itself
    parts = module.split(".")
    if module in FOUNDATION or len(parts) < 2 or parts[1] not in ROOMS:
        return 0
    return ROOMS.index(parts[1]) + 1


def upward(edges: list[Import]) -> list[str]:
    return [f"{e.source} (line {e.line}) imports {e.target}: a lower room must not import a higher one"
            for e in edges if rank(e.target) > rank(e.source)]


def cycles(edges: list[Import]) -> list[list[str]]:
    """Every import circle (strongly connected component of more than one module, or a self-import)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_every_module_is_in_a_room_or_the_foundation():
    stray = [m for m in modules() if rank(m) == 0 and m not in FOUNDATION]
    assert stray == [], "put these in a room (see docs/design.md): " + ", ".join(stray)


def test_no_room_imports_a_higher_one():
    assert upward(imports()) == []


def test_no_import_circle():
    assert cycles(imports()) == []


def function_imports() -> list[str]:
    """Every import statement inside a function, of any module (stdlib and third party too)."""
    out = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        what = inner.module if isinstance(inner, ast.ImportFrom) else inner.names[0].name
                        out.append(f"{name} (line {inner.lineno}) imports {what} inside {node.name}()")
    return sorted(set(out))


def test_imports_inside_functions_only_where_help_needs_them():
    lazy = [line for line in function_imports() if not line.startswith(LAZY_OK)]
    assert lazy == []


def test_the_checks_see_what_they_look_for():
    """The helpers above on made-up edges: an upward import and a circle are reported."""
    edges = [Import("aurora.host.runner", "aurora.cli.app", 3, False),
             Import("aurora.config.app", "aurora.checks.verify", 4, True),
             Import("aurora.checks.verify", "aurora.pipeline.plan", 5, False),
             Import("aurora.pipeline.plan", "aurora.config.app", 6, False)]
    assert len(upward(edges)) == 2
    assert cycles(edges) == [["aurora.checks.verify", "aurora.config.app", "aurora.pipeline.plan"]]
    assert rank("aurora.errors") == 0 < rank("aurora.host.git") < rank("aurora.cli")


MAX_LINES = 400  # small enough to read in one sitting (style.md)


def test_every_module_reads_in_one_sitting():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text(encoding="utf-8").splitlines())) >= MAX_LINES}
    assert long == {}, f"split these (at most {MAX_LINES - 1} lines): {long}"


MAX_FUNCTION_LINES = 60  # from `def` to its last line, docstring and signature included

def function_lengths(tree: ast.AST, prefix: str) -> dict[str, int]:
    """Every function's qualified name (module.Class.function, module.outer.inner) and its lines."""
    out: dict[str, int] = {}
    for node in ast.iter_child_nodes(tree):
        name = prefix
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}.{node.name}"
            if not isinstance(node, ast.ClassDef):
                out[name] = (node.end_lineno or node.lineno) - node.lineno + 1
        out.update(function_lengths(node, name))
    return out


def long_functions() -> dict[str, int]:
    out: dict[str, int] = {}
    for name, path in modules().items():
        out.update(function_lengths(ast.parse(path.read_text(encoding="utf-8")), name))
    return {f: n for f, n in out.items() if n > MAX_FUNCTION_LINES}


def test_no_function_is_longer_than_60_lines():
    long = long_functions()
    assert long == {}, f"split these (at most {MAX_FUNCTION_LINES} lines each): {long}"


def test_function_lengths_are_measured_from_def_to_the_last_line():
    tree = ast.parse("class A:\n    def f(self):\n        def g():\n            pass\n        return 1\n\n\ndef h():\n    '''doc'''\n")
    assert function_lengths(tree, "m") == {"m.A.f": 4, "m.A.f.g": 2, "m.h": 2}
