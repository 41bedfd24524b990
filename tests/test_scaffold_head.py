"""``write_plugin("head", ...)`` writes a head plugin whose own conformance test passes."""
from __future__ import annotations

import subprocess
import sys

from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.plugin_api.scaffold import write_plugin


def test_a_scaffolded_head_passes_its_own_test_and_registers(tmp_path):
    plugin, test = write_plugin("head", "my-head", tmp_path / "plugs")
    assert plugin.name == "my_head.py" and test.name == "test_my_head.py"
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    registry = load_registry(PluginSettings(plugins_dir=str(tmp_path / "plugs"), entry_points=False, strict=True))
    assert registry.entry("heads", "my-head").plugin == "local:my_head"
