"""The shape of the core: sub-packages whose imports flow one way, no import circle, a declared public surface.

Every import counts, at module level or inside a function: an import deferred for start-up time is an
arrow all the same.
"""
import ast
import graphlib
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "ser_bench"
PLUGINS = REPO / "plugins"
# What each part of ser_bench may import from ser_bench besides itself. "" is the package root
# (hookimpl, __version__); errors, processes and cache_store are leaves that import (almost) nothing.
# The order is the floor plan: the contract, then data and models, results, reporting, running, the kit,
# the command line.
ALLOWED = {
    "": set(),
    "errors": set(),
    "processes": {"errors"},  # workers print warnings as the command line does (errors.warnings_on_one_line)
    "cache_store": {"errors"},
    "plugin_api": {"", "errors"},
    "data": {"", "errors", "plugin_api", "processes", "cache_store"},
    "model": {"", "errors", "plugin_api", "data", "cache_store"},
    "results": {"", "errors", "cache_store"},
    "reporting": {"", "errors", "results", "cache_store"},
    "running": {"", "errors", "plugin_api", "data", "model", "results", "processes", "cache_store"},
    "plugin_kit": {"", "errors", "plugin_api", "data", "model", "results", "reporting", "running", "processes",
                   "cache_store"},
    "cli": {"", "errors", "plugin_api", "data", "model", "results", "reporting", "running", "processes",
            "cache_store", "plugin_kit"},
}
# The public surface: what plugins (built-in or not) import. Everything else is internal.
PUBLIC = ("ser_bench", "ser_bench.errors", "ser_bench.plugin_api", "ser_bench.plugin_kit")
# Internal modules that built-ins use on purpose: the batched twins of the built-in losses (an optimisation
# that is not part of the contract) and the corpus-expression syntax, which is the core's own.
BUILTIN_INTERNALS = {
    "losses/bce_pair.py": {"ser_bench.model.batched_losses", "ser_bench.model.twins"},
    "losses/ratio_distance.py": {"ser_bench.model.batched_losses", "ser_bench.model.twins"},
    "losses/cross_entropy.py": {"ser_bench.model.batched_losses", "ser_bench.model.twins"},
    "datasets/corpus_expressions.py": {"ser_bench.data.domains", "ser_bench.data.unions"},
}


def _modules(root: Path = ROOT, prefix: str = "ser_bench"):
    for path in sorted(root.rglob("*.py")):
        parts = (prefix, *path.relative_to(root).with_suffix("").parts)
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path):
    """ser_bench modules that ``path`` imports, anywhere in it (module level, functions, methods)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "ser_bench":
            submodules = [f"{node.module}.{a.name}" for a in node.names if _is_module(f"{node.module}.{a.name}")]
            yield from submodules or [node.module]  # from ser_bench.reporting import tidy: the module tidy
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "ser_bench")


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_each_part_imports_only_what_is_below_it_anywhere_in_its_code():
    wrong = []
    for module, path in _modules():
        part = _part(module)
        assert part in ALLOWED, f"{module}: a new part of ser_bench; give it its floor in ALLOWED"
        for target in _imports(path):
            other = _part(target)
            if other != part and other not in ALLOWED[part]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "arrows that run back up:\n" + "\n".join(wrong)


def test_the_contract_imports_nothing_of_ser_bench_but_its_errors_and_the_package_root():
    for module, path in _modules(ROOT / "plugin_api", "ser_bench.plugin_api"):
        outside = [t for t in _imports(path) if _part(t) not in ("plugin_api", "errors") and t != "ser_bench"]
        assert not outside, (module, outside)


def test_no_import_circle_among_modules_counting_imports_inside_functions():
    known = dict(_modules())
    graph = {m: {t for t in _imports(p) if t in known and t != m and not m.startswith(t + ".")}
             for m, p in known.items()}  # a module importing its own package's __init__ is no circle
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail("import circle: " + " -> ".join(exc.args[1]))


def test_plugins_import_only_the_public_surface():
    wrong = []
    for _module, path in _modules(PLUGINS, "ser_bench_plugins"):
        allowed = BUILTIN_INTERNALS.get(str(path.relative_to(PLUGINS)), set())
        for target in _imports(path):
            if not (target in PUBLIC or target.startswith(tuple(p + "." for p in PUBLIC[2:])) or target in allowed):
                wrong.append(f"{path.relative_to(REPO)} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_public_surface_names_resolve():
    from ser_bench.plugin_kit import helpers, recipes

    for module in (helpers, recipes):
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert not missing, (module.__name__, missing)


def test_the_old_module_paths_are_gone():
    for old in ("ser_bench.types", "ser_bench.plugin_api.testing", "ser_bench.plugin_api.workers",
                "ser_bench._moved"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(old)


def test_the_flat_core_holds_only_the_package_level_modules():
    flat = sorted(p.name for p in ROOT.glob("*.py"))
    assert flat == ["__init__.py", "cache_store.py", "errors.py"] or flat == ["__init__.py", "errors.py"], flat


def test_version_is_0_2(capsys):
    import ser_bench
    from ser_bench.cli.main import main

    assert ser_bench.__version__ == "0.2.0"
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and "0.2.0" in capsys.readouterr().out


def test_every_package_is_in_the_distribution():
    """A package left out of pyproject's list would be missing from a (non-editable) installed ser-bench."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(("ser_bench", *p.parent.relative_to(ROOT).parts)).rstrip(".")
             for p in ROOT.rglob("__init__.py")}
    found |= {".".join(("ser_bench_plugins", *p.parent.relative_to(PLUGINS).parts)).rstrip(".")
              for p in PLUGINS.rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
