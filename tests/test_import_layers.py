"""The package's layers: imports run one way, from higher layers to lower ones; the core never
imports a paper package; no cycles between packages (DESIGN.md, "Layout")."""

import ast
from collections import defaultdict
from pathlib import Path

import mlffkit

SRC = Path(mlffkit.__file__).parent

#: Each part of mlffkit and its layer: a module may import only from its own layer or lower.
LAYERS = {
    "units": 0, "files": 0, "paths": 0, "provenance": 0, "runtime": 0, "registries": 0,
    "ase_state": 0,
    "data": 1,
    "graph": 2, "calculators": 2,
    "models": 3,
    "training": 4, "md": 4, "metrics": 4, "testing": 4,
    "reference": 5,
    "results": 6, "experiments": 7,
    "papers": 8,
    "plotting": 9, "chapters": 9,
    "cli": 10, "__main__": 10,
}
#: Known upward imports, each to be removed by the architecture issue (the list may only
#: shrink).
KNOWN_UPWARD: set[tuple[str, str]] = set()


def part(module: str) -> str:
    parts = module.split(".")[1:]
    return parts[0] if parts else "mlffkit"


def imports() -> dict[str, set[str]]:
    """Every module of mlffkit -> the mlffkit modules it imports (anywhere in its body)."""
    out = defaultdict(set)
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("").parts
        module = ".".join(rel[:-1] if rel[-1] == "__init__" else rel)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            out[module] |= {t for t in targets if t.startswith("mlffkit.")}
    return out


def edges() -> set[tuple[str, str, str]]:
    """(importing part, imported part, importing module) across parts."""
    found = set()
    for module, targets in imports().items():
        for target in targets:
            a, b = part(module), part(target)
            if a != b and b in LAYERS and a != "mlffkit":
                found.add((a, b, module))
    return found


def test_every_part_has_a_layer():
    parts = {part(m) for m in imports()} - {"mlffkit"}
    assert parts <= set(LAYERS), f"give these a layer in LAYERS: {sorted(parts - set(LAYERS))}"


def test_core_never_imports_a_paper_package():
    offenders = sorted(m for a, b, m in edges()
                       if b == "papers" and LAYERS[a] < LAYERS["papers"])
    assert not offenders, f"core modules importing mlffkit.papers: {offenders}"


def test_imports_run_downward_only():
    upward = sorted((a, b, m) for a, b, m in edges()
                    if LAYERS[b] > LAYERS[a] and (a, b) not in KNOWN_UPWARD)
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(
        f"  {m} ({a}, layer {LAYERS[a]}) imports {b} (layer {LAYERS[b]})" for a, b, m in upward)


def test_known_upward_imports_still_exist():
    """An entry of KNOWN_UPWARD that was fixed must leave the list."""
    pairs = {(a, b) for a, b, _ in edges()}
    assert not KNOWN_UPWARD - pairs, f"fixed, remove from KNOWN_UPWARD: {KNOWN_UPWARD - pairs}"


def test_no_cycles_between_parts():
    graph = defaultdict(set)
    for a, b, _ in edges():
        if (a, b) not in KNOWN_UPWARD:
            graph[a].add(b)
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join(path + [node, nxt]))
            if nxt not in state:
                visit(nxt, path + [node])
        state[node] = "done"

    for node in list(graph):
        if node not in state:
            visit(node, [])


def test_importing_the_core_loads_no_paper_package():
    import subprocess
    import sys

    code = ("import sys, mlffkit.experiments, mlffkit.results, mlffkit.training, mlffkit.md, "
            "mlffkit.metrics, mlffkit.models, mlffkit.data; "
            "print(sorted(m for m in sys.modules if m.startswith('mlffkit.papers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_test_modules_have_unique_names():
    """The test folders are not packages, so pytest imports each test file by its base name:
    two files with one name in different folders stop the whole collection."""
    tests = Path(__file__).parent
    names = defaultdict(list)
    for path in tests.rglob("test_*.py"):
        names[path.name].append(str(path.relative_to(tests)))
    assert not {name: paths for name, paths in names.items() if len(paths) > 1}
