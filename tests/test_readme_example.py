"""The plugin example of the manual (docs/plugins/writing.md) works exactly as written."""
from __future__ import annotations

import re
from pathlib import Path

from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.plugin_kit.testing import check_loss

PAGE = Path(__file__).resolve().parents[1] / "docs" / "plugins" / "writing.md"


def test_readme_plugin_example_registers_and_passes_conformance(tmp_path):
    text = PAGE.read_text()
    block = re.search(r"<!-- example-plugin:start -->\s*```python\n(.*?)```", text, re.S).group(1)
    (tmp_path / "my_contrastive.py").write_text(block)
    registry = load_registry(PluginSettings(plugins_dir=str(tmp_path), entry_points=False, strict=True))
    assert registry.entry("losses", "my_contrastive").plugin == "local:my_contrastive"
    check_loss("my_contrastive", registry)
