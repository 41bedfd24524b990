"""The shape of the core: sub-packages whose imports flow one way, no import cycle, old paths kept."""
import ast
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "ser_bench"
# What each sub-package may import from ser_bench, besides itself and the top-level errors module.
# The order is the data flow: manifest -> features -> protocol -> model -> result -> report.
ALLOWED = {
    "plugin_api": {"data", "model", "running"},  # registry, conformance checks and scaffolds reach the kinds
    "data": {"plugin_api"},
    "model": {"plugin_api", "data"},
    "running": {"plugin_api", "data", "model", "results"},
    "results": set(),
    "reporting": {"results"},
    "cli": {"plugin_api", "data", "model", "running", "results", "reporting"},
}


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imports(path: Path, top_level_only: bool):
    """ser_bench modules imported by ``path`` (only those at module level with ``top_level_only``)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ser_bench"):
            submodules = [f"{node.module}.{a.name}" for a in node.names if _is_module(f"{node.module}.{a.name}")]
            yield from submodules or [node.module]  # from ser_bench.reporting import tidy: the module tidy
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("ser_bench"))


def _is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_sub_packages_import_only_what_comes_before_them_in_the_data_flow():
    wrong = []
    for module, path in _modules():
        package = _package(module)
        if package not in ALLOWED:
            continue
        for target in _imports(path, top_level_only=False):
            other = _package(target)
            if other in ALLOWED and other != package and other not in ALLOWED[package]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_reporting_imports_nothing_from_the_running_side():
    for module, path in _modules():
        if _package(module) == "reporting":
            running = [t for t in _imports(path, top_level_only=False)
                       if _package(t) in {"running", "model", "data", "plugin_api", "cli"}]
            assert not running, (module, running)


def test_no_import_cycle_among_module_level_imports():
    known = dict(_modules())
    graph = {m: {t for t in _imports(p, top_level_only=True) if t in known and t != m} for m, p in known.items()}
    state: dict = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_the_flat_core_is_gone_except_the_package_level_modules():
    flat = sorted(p.name for p in ROOT.glob("*.py"))
    assert flat == ["__init__.py", "_moved.py", "errors.py"], flat


@pytest.mark.parametrize("old, new", [("types", "plugin_api.types"), ("testing", "plugin_api.testing"),
                                      ("leaderboard", "reporting.leaderboard"), ("corpus", "data.corpus")])
def test_a_plugin_written_for_0_1_still_imports_with_a_deprecation_warning(old, new):
    sys.modules.pop(f"ser_bench.{old}", None)
    with pytest.warns(DeprecationWarning, match=f"ser_bench.{old} moved to ser_bench.{new}"):
        module = importlib.import_module(f"ser_bench.{old}")
    assert module is importlib.import_module(f"ser_bench.{new}")


def test_names_of_the_0_1_results_module_resolve_from_the_package_with_a_warning():
    import ser_bench.results
    from ser_bench.results import store

    with pytest.warns(DeprecationWarning, match="ser_bench.results.store.load_results"):
        assert ser_bench.results.load_results is store.load_results
    with pytest.raises(AttributeError):
        ser_bench.results.no_such_name  # noqa: B018
