"""Dependencies point one way: no import circle, and no module imports one of a higher layer
(the layers of the design, bottom to top). Read from the source, every import (lazy ones too)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lit_parallel", "datamodules", "callbacks")
LAYERS = {
    "lit_parallel.errors": 1,
    "lit_parallel.execution": 1,
    "lit_parallel.metrics": 1,
    "lit_parallel.caching": 1,
    "lit_parallel.checks": 1,
    "lit_parallel.figures": 1,
    "lit_parallel.jsonl": 1,
    "lit_parallel.progress": 1,
    "lit_parallel.quiet": 1,
    "lit_parallel.problems": 2,
    "lit_parallel.prompts": 2,
    "lit_parallel.modeling": 3,
    "lit_parallel.generation": 3,
    "lit_parallel.sampling": 3,
    "lit_parallel.evaluation": 3,
    "lit_parallel.rewards": 3,
    "lit_parallel.analysis": 3,
    "lit_parallel.translation": 3,
    "datamodules": 4,
    "lit_parallel.modules": 4,
    "callbacks": 4,
    "lit_parallel.experiment": 5,
    "lit_parallel.commands": 6,
    "lit_parallel.cli": 7,
}
"""Longest matching prefix wins; ``lit_parallel`` itself (the package's start-up) is below them all."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def layer(module: str) -> int:
    prefixes = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    if not prefixes:
        assert module == "lit_parallel", f"{module} has no layer: add it to LAYERS"
        return 0
    return LAYERS[max(prefixes, key=len)]


def imports(module: str) -> set[str]:
    """The project modules ``module`` imports (a name imported from a package counts as its module)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [n if n in MODULES else node.module for n in names]
        else:
            continue
        found |= {n for n in names if n in MODULES and n != module}
    return found


GRAPH = {module: imports(module) for module in MODULES}


def test_every_module_has_a_layer():
    for module in MODULES:
        layer(module)


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{m} (layer {layer(m)}) imports {n} (layer {layer(n)})"
        for m, deps in GRAPH.items()
        for n in deps
        if layer(n) > layer(m)
    ]
    assert not upward, "\n".join(sorted(upward))


def test_no_import_circle():
    done, path, circles = set(), [], []

    def visit(module: str) -> None:
        if module in path:
            circles.append(" -> ".join([*path[path.index(module) :], module]))
            return
        if module in done:
            return
        path.append(module)
        for dep in sorted(GRAPH[module]):
            # A package's __init__ re-exporting its own submodules is not a circle through them.
            if not dep.startswith(module + "."):
                visit(dep)
        path.pop()
        done.add(module)

    for module in sorted(GRAPH):
        visit(module)
    assert not circles, "\n".join(circles)


def test_nothing_imports_the_router():
    assert not [m for m, deps in GRAPH.items() if "lit_parallel.cli" in deps]
