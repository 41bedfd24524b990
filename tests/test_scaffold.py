"""``ser-bench new KIND NAME`` for every kind it offers: the plugin loads through a plugins folder and
its generated conformance test (declared defaults included) passes."""
from __future__ import annotations

import subprocess
import sys

import pytest

from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.plugin_kit.scaffold import TEMPLATES, write_plugin
from ser_bench.plugin_api.types import SINGULAR

KIND_OF = {singular: kind for kind, singular in SINGULAR.items()}


def test_protocol_and_feature_can_be_scaffolded():
    assert {"loss", "encoder", "dataset", "head", "protocol", "feature"} <= set(TEMPLATES)


def test_every_scaffold_registers_and_passes_its_own_test(tmp_path):
    folder = tmp_path / "plugs"
    tests = []
    for kind in TEMPLATES:
        plugin, test = write_plugin(kind, f"my-{kind}", folder)
        assert plugin.name == f"my_{kind}.py" and test.name == f"test_my_{kind}.py"
        tests.append(str(test))
    registry = load_registry(PluginSettings(plugins_dir=str(folder), entry_points=False, strict=True))
    for kind in TEMPLATES:
        assert registry.entry(KIND_OF[kind], f"my-{kind}").plugin == f"local:my_{kind}"
    # One pytest run for all of them: each generated test loads the folder and runs its kind's checks.
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert f"{len(TEMPLATES)} passed" in tested.stdout


def test_a_scaffold_refuses_to_overwrite_and_odd_names(tmp_path):
    write_plugin("protocol", "mine", tmp_path)
    with pytest.raises(SerBenchError, match="--force"):
        write_plugin("protocol", "mine", tmp_path)
    write_plugin("protocol", "mine", tmp_path, force=True)
    with pytest.raises(SerBenchError, match="not a usable plugin name"):
        write_plugin("feature", "class", tmp_path)
    with pytest.raises(SerBenchError, match="can scaffold"):
        write_plugin("recipe", "mine", tmp_path)


@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_ser_bench_new_writes_every_kind(kind, tmp_path, capsys):
    from ser_bench.cli.main import main

    assert main(["new", kind, f"cli-{kind}", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / f"cli_{kind}.py").is_file() and "try it" in capsys.readouterr().out
