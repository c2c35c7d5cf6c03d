"""The package's layout: stages import one way, nothing is imported by name at run time, no import cycles.

The stages of ``python/dacl``, in import order (a module may import its own stage and earlier ones):

    base (io, settings, devices, layers, _native) < corpus < features < latent < views < embedding
        < training < probe < report < cli

Every import counts, also one inside a function (kept there for cost: torch, sklearn, matplotlib)
or under ``TYPE_CHECKING``. ``dacl/__init__.py`` is the public facade: it re-exports the native
module, the corpus and the features, and no module of the package imports it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "dacl"
STAGES = ("base", "corpus", "features", "latent", "views", "embedding", "training", "probe", "report", "cli")
BASE = {"io", "settings", "devices", "layers", "_native"}


def module_name(path: Path) -> str:
    parts = ("dacl", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def stage(module: str) -> int:
    """The stage index of a module of the package (``dacl`` itself, the facade, is after every stage;
    a module outside every stage is after the facade, so it may import anything but nothing may import it)."""
    parts = module.split(".")
    if len(parts) == 1:
        return len(STAGES)
    top = parts[1]
    if top in BASE:
        return 0
    if top == "__main__":
        return STAGES.index("cli")
    return STAGES.index(top) if top in STAGES else len(STAGES) + 1


def imported_modules(module: str) -> set[str]:
    """The package modules ``module`` imports (resolving ``from dacl.x import y`` to ``dacl.x.y`` when y is one)."""
    tree = ast.parse(MODULES[module].read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "dacl"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "dacl":
            assert node.level == 0, f"{module}: relative import"
            subs = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= (subs & (MODULES.keys() | {"dacl._native"})) or {node.module}
    return found


def package_imports() -> dict[str, set[str]]:
    return {m: {i for i in imported_modules(m) if i in MODULES} for m in MODULES}


def test_every_module_belongs_to_a_stage() -> None:
    outside = [m for m in MODULES if stage(m) > len(STAGES)]
    assert not outside, f"modules in no stage (move each into the folder of its stage): {outside}"


def test_imports_point_to_earlier_stages_only() -> None:
    wrong = [
        f"{m} ({STAGES[stage(m)] if stage(m) < len(STAGES) else 'facade'}) imports {i}"
        for m in MODULES
        for i in imported_modules(m)
        if i != "dacl._native" and (i == "dacl" or stage(i) > stage(m))
    ]
    assert not wrong, "\n".join(wrong)


def test_nothing_is_imported_by_name_at_run_time() -> None:
    """No ``importlib.import_module``/``__import__`` plug-ins; ``importlib.resources`` (shipped data) is fine."""
    found = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Name) and node.id == "__import__":
                names = ["__import__"]
            found += [
                f"{module}: {n}"
                for n in names
                if n.startswith("importlib") and not n.startswith("importlib.resources") or n == "__import__"
            ]
    assert not found, "\n".join(found)


def test_the_module_graph_has_no_cycles() -> None:
    graph = package_imports()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(module) :] + [module]))
        if module in done:
            return
        for other in sorted(graph[module]):
            visit(other, [*path, module])
        done.add(module)

    for module in graph:
        visit(module, [])


@pytest.mark.parametrize("module", ["dacl.cli", "dacl.training", "dacl.training.config", "dacl.cli.experiment"])
def test_the_command_line_and_configuration_import_no_torch(module: str) -> None:
    """``dacl --help`` and reading a configuration stay fast: torch, sklearn and matplotlib load only to run."""
    code = (
        f"import sys, {module}; heavy = [m for m in ('torch', 'sklearn', 'matplotlib') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing {module} imports {out}"
