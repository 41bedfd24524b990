"""The plugin registry: built-ins, entry points, local folders, duplicates, broken plugins, misses."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ser_bench.errors import DuplicatePluginError, PluginLoadError, UnknownPluginError
from ser_bench.plugin_api.manager import PluginSettings, PluginWarning, load_registry

LOCAL_LOSS = '''
from ser_bench import hookimpl
from ser_bench.plugin_api.types import LossSpec

@hookimpl
def ser_bench_losses():
    return [LossSpec(name={name!r}, build=lambda: None, summary="test loss")]
'''


def test_builtins_cover_every_kind(registry):
    assert {"sim-ravdess", "sim-crema", "sim-enterface", "ravdess", "crema", "enterface"} <= set(registry.names("datasets"))
    assert {"bce_pair", "ratio_distance", "cross_entropy", "contrastive", "triplet", "supcon", "multi_similarity",
            "pml", "continuous_slope", "log_ratio", "logreg", "linear_svm", "softmax_mlp"} <= set(registry.names("losses"))
    assert registry.names("protocols") == ["fewshot", "idt", "official", "oodt", "speaker-folds"]
    assert {"is09-64", "is09", "egemaps"} <= set(registry.names("features"))
    assert {"siamese-mlp", "mlp", "identity"} <= set(registry.names("encoders"))
    assert {"serial", "process"} <= set(registry.names("executors"))
    entry = registry.entry("losses", "ratio_distance")
    assert entry.distribution == "ser-bench" and entry.plugin.endswith("ratio_distance")


def test_unknown_name_suggests_close_matches(registry):
    with pytest.raises(UnknownPluginError) as info:
        registry.get("losses", "ratio_distanse")
    message = str(info.value)
    assert "Did you mean 'ratio_distance'" in message and "bce_pair" in message


def test_local_plugin_folder_registers_one_file_plugin(tmp_path):
    (tmp_path / "my_loss.py").write_text(LOCAL_LOSS.format(name="my_loss"))
    registry = load_registry(PluginSettings(plugins_dir=str(tmp_path), entry_points=False))
    entry = registry.entry("losses", "my_loss")
    assert entry.plugin == "local:my_loss" and str(tmp_path) in entry.distribution


def test_duplicate_names_are_an_error_naming_both(tmp_path):
    (tmp_path / "clash.py").write_text(LOCAL_LOSS.format(name="bce_pair"))
    with pytest.raises(DuplicatePluginError) as info:
        load_registry(PluginSettings(plugins_dir=str(tmp_path), entry_points=False))
    assert "ser_bench_plugins.losses.bce_pair" in str(info.value) and "local:clash" in str(info.value)


def test_broken_local_plugin_warns_and_is_skipped_or_raises_in_strict_mode(tmp_path):
    (tmp_path / "broken.py").write_text("import no_such_module_anywhere\n")
    (tmp_path / "fine.py").write_text(LOCAL_LOSS.format(name="fine_loss"))
    with pytest.warns(PluginWarning, match="broken.py"):
        registry = load_registry(PluginSettings(plugins_dir=str(tmp_path), entry_points=False))
    assert "fine_loss" in registry.names("losses")
    with pytest.raises(PluginLoadError, match="no_such_module_anywhere"):
        load_registry(PluginSettings(plugins_dir=str(tmp_path), entry_points=False, strict=True))


def _fake_distribution(root, dist, module, body, entry_name="fake"):
    """An installed distribution as importlib.metadata sees it: a .dist-info folder on sys.path."""
    info = root / f"{dist}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[ser_bench]\n{entry_name} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(body))


def test_entry_point_plugins_are_discovered_with_their_distribution(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, "ser-bench-fakeloss", "fake_ser_bench_loss", LOCAL_LOSS.format(name="fake_loss"))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = load_registry(PluginSettings())
    entry = registry.entry("losses", "fake_loss")
    assert (entry.distribution, entry.version) == ("ser-bench-fakeloss", "1.2.3")
    sys.modules.pop("fake_ser_bench_loss", None)


def test_broken_entry_point_warns_and_the_rest_still_loads(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, "ser-bench-broken", "broken_ser_bench_plugin", "raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(PluginWarning, match="ser-bench-broken"):
        registry = load_registry(PluginSettings())
    assert "ratio_distance" in registry.names("losses")
    with pytest.raises(PluginLoadError, match="boom"):
        load_registry(PluginSettings(strict=True))


LOCAL_HEAD = '''
from ser_bench import hookimpl
from ser_bench.plugin_api.types import HeadSpec


def predict(model, x_test, x_support, y_support, n_classes, **_):
    import torch

    from ser_bench.model.heads import embed

    return y_support[torch.cdist(embed(model, x_test), embed(model, x_support)).argmin(1)]


@hookimpl
def ser_bench_heads():
    return [HeadSpec(name="nearest_clip", predict=predict, summary="class of the nearest support clip")]
'''


def test_builtin_heads_are_plugins(registry):
    assert {"siamese", "prototype", "knn", "linear", "linear_svm"} <= set(registry.names("heads"))
    assert registry.entry("heads", "linear_svm").plugin == "ser_bench_plugins.heads.linear_svm"
    assert registry.get("heads", "siamese").needs == "pair" and registry.get("heads", "knn").needs == "embedding"


def test_unknown_head_suggests_close_matches(registry):
    from ser_bench.model.heads import get_head

    with pytest.raises(UnknownPluginError, match="no head called 'linaer'. Did you mean 'linear'"):
        get_head(registry, "linaer")


def test_a_head_from_a_plugins_folder_works_end_to_end(tmp_path):
    import torch

    from ser_bench.running.cells import Cell, resolve
    from ser_bench.model.heads import get_head
    from ser_bench.plugin_kit.testing import check_head

    (tmp_path / "nearest_clip.py").write_text(LOCAL_HEAD)
    registry = load_registry(PluginSettings(plugins_dir=str(tmp_path), entry_points=False))
    assert registry.entry("heads", "nearest_clip").plugin == "local:nearest_clip"
    check_head("nearest_clip", registry)
    model = registry.get("encoders", "identity").build(input_dim=2)
    support, labels = torch.tensor([[0.0, 0.0], [4.0, 4.0]]), torch.tensor([2, 0])
    pred = get_head(registry, "nearest_clip")(model, torch.tensor([[3.5, 4.2], [0.1, -0.3]]), support, labels, 3)
    assert pred.tolist() == [0, 2]
    cell = resolve(Cell("idt", "logreg", "sim-ravdess", head="nearest_clip"), registry)
    assert cell.head == "nearest_clip" and not cell.skip_reason


def test_list_heads_names_every_head(capsys):
    from ser_bench.cli.main import main

    assert main(["list", "heads"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("siamese", "prototype", "knn", "linear", "linear_svm"))


def test_heads_and_baselines_import_no_heavy_module():
    modules = ["ser_bench.model.heads", "ser_bench.running.cells", *(f"ser_bench_plugins.heads.{h}" for h in
               ("siamese", "prototype", "knn", "linear", "linear_svm")), "ser_bench_plugins.encoders.identity",
               "ser_bench_plugins.losses.logreg", "ser_bench_plugins.losses.linear_svm"]
    code = (f"import importlib, sys\nfor m in {modules!r}:\n    importlib.import_module(m)\n"
            "heavy = [m for m in ('torch', 'numpy', 'sklearn') if m in sys.modules]\nassert not heavy, heavy\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def _hook_modules() -> dict:
    """``kind.module`` -> the ``ser_bench_*`` hooks it defines, for every module under the built-in
    plugins' kind folders (read from the source, so a module that fails to import is still seen)."""
    import ast
    from pathlib import Path

    import ser_bench_plugins

    root = Path(ser_bench_plugins.__path__[0])
    found = {}
    for path in sorted(root.glob("*/*.py")):
        tree = ast.parse(path.read_text())
        hooks = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
                 and (node.name.startswith("ser_bench_")
                      or any(getattr(d, "id", getattr(d, "attr", "")) == "hookimpl" for d in node.decorator_list))]
        if hooks:
            found[f"{path.parent.name}.{path.stem}"] = hooks
    return found


def test_the_list_of_built_in_modules_is_complete():
    """Every built-in module that defines a hook is in BUILTIN_MODULES (a new file cannot be forgotten),
    every listed module exists and defines one, and nothing is listed twice."""
    from ser_bench_plugins import BUILTIN_MODULES

    defined = _hook_modules()
    assert sorted(set(defined) - set(BUILTIN_MODULES)) == [], "modules with hooks missing from BUILTIN_MODULES"
    assert sorted(set(BUILTIN_MODULES) - set(defined)) == [], "BUILTIN_MODULES lists modules that define no hook"
    assert len(BUILTIN_MODULES) == len(set(BUILTIN_MODULES)), "BUILTIN_MODULES lists a module twice"


def test_each_built_in_module_defines_the_hook_of_its_folder():
    from ser_bench.plugin_api.types import SPEC_TYPES

    # Hooks that are no kind of their own but belong to a kind's folder: corpus expressions are datasets.
    extra = {"datasets": ["ser_bench_dataset_view"]}

    def fits(folder, hooks):
        return folder in SPEC_TYPES and hooks in ([f"ser_bench_{folder}"], *([h] for h in extra.get(folder, [])))

    wrong = {module: hooks for module, hooks in _hook_modules().items() if not fits(module.split(".")[0], hooks)}
    assert wrong == {}, "a built-in module sits in the folder of another kind, or defines more than one hook"


def test_every_built_in_module_registers_what_it_defines(registry):
    plugins = {entry.plugin for entry in registry.entries()}
    resolvers = {"datasets.corpus_expressions"}  # registers no spec: it resolves names (see the next test)
    assert {f"ser_bench_plugins.{module}" for module in _hook_modules() if module not in resolvers} <= plugins


def test_corpus_expressions_are_resolved_by_a_plugin_and_a_third_party_syntax_can_take_over(registry, tmp_path):
    from ser_bench.errors import UnknownPluginError
    from ser_bench.plugin_api.manager import PluginSettings, load_registry
    from ser_bench.plugin_api.registry import Registry

    view = registry.entry("datasets", "sim-ravdess[sex=female]")
    assert view.plugin == "ser_bench_plugins.datasets.sim_ravdess" and view.spec.view.base == "sim-ravdess"
    assert registry.get("datasets", "sim-ravdess|sim-crema").parts == ("sim-ravdess", "sim-crema")
    with pytest.raises(UnknownPluginError, match="no plugin resolves the corpus expression"):
        Registry().get("datasets", "sim-ravdess[sex=female]")
    (tmp_path / "upper.py").write_text(
        "from ser_bench import hookimpl\n"
        "@hookimpl\n"
        "def ser_bench_dataset_view(registry, name):\n"
        "    return registry.entry('datasets', 'sim-crema') if name == 'ALL+CAPS' else None\n")
    mine = load_registry(PluginSettings(plugins_dir=str(tmp_path), entry_points=False, strict=True))
    assert mine.get("datasets", "ALL+CAPS").name == "sim-crema"  # asked first
    assert mine.get("datasets", "sim-ravdess[sex=male]").view.base == "sim-ravdess"  # the built-in still answers
