"""A plugin hook that returns the wrong type is a plugin failure like any other: the plugin is skipped
with a PluginWarning naming it and what it returned (the rest of ser-bench works), and with
--strict-plugins it is an error, never a traceback."""
from __future__ import annotations

import pytest

from ser_bench.cli.main import main
from ser_bench.plugin_api.manager import PluginWarning

RETURNS = {
    "a dict": ('{"name": "wrongly_named"}', "returned dict; it must return a list of LossSpec records"),
    "a bare spec": ('LossSpec(name="wrongly_named", build=lambda: None, summary="x")',
                    "returned LossSpec; it must return a list of LossSpec records"),
    "a spec of another kind": ('[EncoderSpec(name="wrongly_named", build=lambda: None, summary="x")]',
                               "returned a EncoderSpec in its list; every item must be a LossSpec"),
    "a list of names": ('["wrongly_named"]', "returned a str in its list; every item must be a LossSpec"),
    "a number": ("42", "returned int; it must return a list of LossSpec records"),
    "a spec without a name": ('[LossSpec(name="", build=lambda: None, summary="x")]', "whose name is ''"),
}


def write_plugin(folder, returned: str):
    folder.mkdir(exist_ok=True)
    (folder / "wrongly.py").write_text(
        "from ser_bench import hookimpl\nfrom ser_bench.plugin_api.types import EncoderSpec, LossSpec\n\n\n"
        f"@hookimpl\ndef ser_bench_losses():\n    return {returned}\n")
    return folder


@pytest.mark.parametrize("case", RETURNS)
def test_a_hook_returning_the_wrong_type_is_skipped_with_a_warning(case, tmp_path, capsys):
    returned, message = RETURNS[case]
    folder = write_plugin(tmp_path / "plugins", returned)
    with pytest.warns(PluginWarning, match="local:wrongly") as caught:
        assert main(["--plugins-dir", str(folder), "list", "losses"]) == 0
    assert any(message in str(w.message) for w in caught), [str(w.message) for w in caught]
    out = capsys.readouterr().out
    assert "ratio_distance" in out and "wrongly_named" not in out  # the others still load


@pytest.mark.parametrize("case", ["a dict", "a spec of another kind"])
def test_under_strict_plugins_it_is_an_error_naming_the_plugin(case, tmp_path, capsys):
    returned, message = RETURNS[case]
    folder = write_plugin(tmp_path / "plugins", returned)
    assert main(["--strict-plugins", "--plugins-dir", str(folder), "list", "losses"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "local:wrongly" in err and message in err
