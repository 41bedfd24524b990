"""transformers is optional: without it ser-bench imports, lists the ssl feature, and says what to install
when a run asks for it (the ``ssl`` extra). Run in a subprocess that cannot import transformers."""
from __future__ import annotations

import subprocess
import sys
import textwrap


def test_without_transformers_ssl_is_listed_and_a_run_says_what_to_install(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.modules["transformers"] = None  # import transformers raises ImportError from here on
        sys.modules["huggingface_hub"] = None
        from ser_bench.cli.main import main
        assert main(["list", "features"]) == 0
        code = main(["-q", "run", "--protocol", "idt", "--loss", "logreg", "--target", "sim-ravdess",
                     "--feature", "ssl", "--results", {str(tmp_path)!r}, "--cache-dir", {str(tmp_path / "cache")!r}])
        sys.exit(code)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "ssl " in done.stdout and "self-supervised speech model" in done.stdout
    assert "feature 'ssl' needs Hugging Face transformers" in done.stderr
    assert "pip install 'ser-bench[ssl]'" in done.stderr
