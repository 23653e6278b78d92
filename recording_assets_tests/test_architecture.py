"""The layout's rules, read from the source with ``ast`` (no import of the package needed):

- the library rooms (genesys, archive, pipeline, control, webhooks) import neither Dagster, nor the
  Dagster wing (defs), nor tools, nor the sandbox; product code never imports the sandbox;
- no import circle between modules (imports under ``if TYPE_CHECKING:`` do not count);
- only settings.py touches ``os.environ``;
- one concept per module: over 300 lines warns, over 600 fails (sandbox/ aside);
- importing the package has no side effects.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "recording_assets"
LIBRARY_ROOMS = ("genesys", "archive", "pipeline", "control", "webhooks")
MAX_LINES = 300


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _imports(module: str) -> set[str]:
    """Absolute names this module imports at run time (module level or inside functions)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                # `from pkg import submodule` depends on the submodule, `from pkg import name` on pkg.
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return found


def _project_edges(module: str) -> set[str]:
    edges = set()
    for name in _imports(module):
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module and name.startswith("recording_assets"):
            edges.add(name)
    return edges


@pytest.mark.parametrize("room", LIBRARY_ROOMS)
def test_a_library_room_imports_no_dagster_no_wiring_and_no_sandbox(room):
    forbidden = (
        "dagster",
        "dagster_aws",
        "recording_assets.defs",
        "recording_assets.tools",
        "recording_assets.sandbox",
    )
    offenders = {
        module: sorted(
            name for name in _imports(module) if name.split(".")[0] == "dagster" or name.startswith(forbidden)
        )
        for module in MODULES
        if module.startswith(f"recording_assets.{room}")
    }
    assert {m: names for m, names in offenders.items() if names} == {}


def test_product_code_never_imports_the_sandbox():
    product = [m for m in MODULES if not m.startswith(("recording_assets.sandbox", "recording_assets.tools"))]
    offenders = {
        m: sorted(n for n in _imports(m) if n.startswith("recording_assets.sandbox")) for m in product
    }
    assert {m: names for m, names in offenders.items() if names} == {}


def test_there_is_no_import_circle():
    graph = {module: _project_edges(module) for module in MODULES}
    # Tarjan's strongly connected components; any component of two or more modules is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for child in graph[node]:
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert circles == []


def test_the_circle_finder_sees_a_circle(tmp_path, monkeypatch):
    """The rule above can fail: two modules that import each other form a component of two."""
    (tmp_path / "recording_assets").mkdir()
    (tmp_path / "recording_assets" / "a.py").write_text("from recording_assets import b\n")
    (tmp_path / "recording_assets" / "b.py").write_text("import recording_assets.a\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path / "recording_assets")
    monkeypatch.setattr(
        f"{__name__}.MODULES",
        {
            "recording_assets.a": tmp_path / "recording_assets/a.py",
            "recording_assets.b": tmp_path / "recording_assets/b.py",
        },
    )
    assert _project_edges("recording_assets.a") == {"recording_assets.b"}
    assert _project_edges("recording_assets.b") == {"recording_assets.a"}
    with pytest.raises(AssertionError):
        test_there_is_no_import_circle()


def test_only_settings_reads_the_environment():
    readers = sorted(
        module
        for module, path in MODULES.items()
        if ("os.environ" in path.read_text() or "os.getenv" in path.read_text())
        and module != "recording_assets.settings"
    )
    assert readers == []


def test_modules_stay_one_concept_long():
    """One concept per module is a reading, not a count: past 300 lines a module is named in a warning
    (look whether it holds two concepts); past 600 it surely does, and the test fails."""
    sizes = {
        module: len(path.read_text().splitlines())
        for module, path in MODULES.items()
        if not module.startswith("recording_assets.sandbox")
    }
    long = {module: n for module, n in sizes.items() if n > MAX_LINES}
    if long:
        warnings.warn(f"modules over {MAX_LINES} lines (one concept each?): {long}", stacklevel=1)
    assert {module: n for module, n in long.items() if n > 2 * MAX_LINES} == {}


def test_importing_the_package_has_no_side_effects():
    """A fresh interpreter: ``import recording_assets`` changes no environment variable and loads none of
    the package's rooms (process setup is ``runtime.setup_process``'s)."""
    probe = (
        "import os, sys\n"
        "before = dict(os.environ)\n"
        "import recording_assets\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('recording_assets.'))\n"
        "print(dict(os.environ) == before, loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split(maxsplit=1) == ["True", "[]\n"]
