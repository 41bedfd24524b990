"""The HTML leaderboard: one self-contained page, checked as text and in headless Chromium (sorting,
filtering, the rendered table, a screenshot); the browser tests skip with a reason where no chromium is."""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from ser_bench.reporting.export import board_frame
from ser_bench.reporting.html import to_html, write_site
from ser_bench.results.record import CellParams, DataRecord, Result, make_split

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("anger", "happiness", "sadness", "fear")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (make browser installs it)")


def result(protocol, loss, uars, source=None, target="sim-ravdess", seed=0, loss_params=None):
    """A result record as a run writes it. Few-shot: ``uars`` per (k, frozen) episode; else per speaker."""
    if protocol == "fewshot":
        splits = [make_split(f"k{k}-f{f}", u, info={"k": k, "frozen": f, "repeat": 0}, hash=f"k{k}f{f}s{seed}",
                             episode_hash=f"k{k}s{seed}")
                  for (k, f), u in zip([(2, 0), (2, 1), (4, 0), (4, 1)], uars)]
    else:
        splits = [make_split(f"spk{i}", u, info={"test_speaker": f"spk{i}"}, hash=f"spk{i}")
                  for i, u in enumerate(uars)]
    params = CellParams(protocol=protocol, loss=loss, source=source, target=target, encoder="siamese-mlp",
                        feature="is09-64", seed=seed, labels=LABELS, protocol_params={}, training={"epochs": 1},
                        loss_params=loss_params or {})
    return Result(cell_id=f"{protocol}-{loss}-{seed}", status="ok", params=params, splits=tuple(splits),
                  created=f"2026-11-0{seed + 1}T10:00:00+00:00",
                  provenance={"packages": {"ser-bench": "0.1.0", "torch": "2.13.0+cpu"},
                              "git_commit": "0123456789abcdef0123"},
                  data={"target": DataRecord(dataset=target, manifest_hash="feedface" * 8, clips_used=768,
                                             speakers=24)})


@pytest.fixture
def results():
    """IDT: three methods over eight speakers, one clearly worse; few-shot: two methods, three seeds, k 2
    and 4, frozen 0 and 1, so that both figures and the table by k exist."""
    out = [
        result("idt", "logreg", [0.70, 0.72, 0.68, 0.75, 0.71, 0.69, 0.74, 0.73]),
        result("idt", "bce_pair", [0.66, 0.70, 0.69, 0.71, 0.70, 0.65, 0.72, 0.70]),
        result("idt", "ratio_distance", [0.40, 0.42, 0.45, 0.41, 0.39, 0.44, 0.43, 0.40]),
    ]
    for seed in range(3):
        jitter = (0.013, -0.021, 0.008)[seed]
        out.append(result("fewshot", "bce_pair", [0.50 + jitter, 0.52, 0.60 - jitter, 0.61], "sim-crema", seed=seed))
        out.append(result("fewshot", "logreg", [0.45, 0.46 + jitter * seed, 0.50, 0.52 + jitter], "sim-crema",
                          seed=seed))
    return out


def table_rows(page: str, table_id: str) -> list[dict]:
    """The ``<tr>`` of a table's body, in document order: method, UAR sort key, whether hidden."""
    body = re.search(rf'<table id="{table_id}".*?<tbody>(.*?)</tbody>', page, re.DOTALL).group(1)
    rows = []
    for attrs, cells in re.findall(r"<tr([^>]*)>(.*?)</tr>", body, re.DOTALL):
        rows.append({"method": re.search(r'data-method="([^"]*)"', attrs).group(1),
                     "hidden": bool(re.search(r"\bhidden\b", attrs)),
                     "uar": float(re.search(r'class="c-uar" data-sort="([^"]*)"', cells).group(1)),
                     "text": re.sub(r"<[^>]+>", " ", cells)})
    return rows


def test_page_is_self_contained_and_shows_the_board(results):
    page = to_html(results, title="A <test> board")
    cells = board_frame(results).query("level == 'cell'")
    rows = table_rows(page, "board-cell")
    assert len(rows) == len(cells) == 5
    assert [r["method"] for r in rows] == list(cells["method"])
    assert len(table_rows(page, "board-k")) == len(board_frame(results).query("level == 'k'"))
    # nothing to fetch: no stylesheet, script or image from anywhere else
    assert not re.search(r'(src|href)="(?!data:|#)', page) and "<link" not in page
    assert page.count("data:image/png;base64,") == 4  # ranks, few-shot curves, their area ranked, layer curves
    assert "<title>A &lt;test&gt; board</title>" in page and "<test>" not in page
    # the settings header as a list, its markdown code spans as <code>
    assert "<li>feature: is09-64</li>" in page and "<li>protocol <code>fewshot</code>" in page
    # provenance footer from the records
    for text in ("torch 2.13.0+cpu", "0123456789ab", "2026-11-01 to 2026-11-03", "sim-ravdess (manifest",
                 "feedfacefeed"):
        assert text in page


def test_marks_follow_the_corrected_tests(results):
    board = board_frame(results).query("level == 'cell' and protocol == 'idt'")
    rows = {r["method"]: r for r in table_rows(to_html(results), "board-cell")}
    best = board[board["best"]]["method"].item()
    assert "★ best" in rows[best]["text"]
    for row in board.itertuples():
        if not row.best:
            assert ("▼" in rows[row.method]["text"]) == (row.p_holm < 0.05), row.method
    assert board.query("method == 'idt · ratio_distance'")["p_holm"].item() < 0.05  # a mark is shown


def test_absent_figures_and_tables_are_left_out_cleanly():
    page = to_html([result("idt", "logreg", [0.7, 0.6, 0.65]), result("idt", "bce_pair", [0.6, 0.5, 0.62])])
    assert len(table_rows(page, "board-cell")) == 2
    assert 'id="board-k"' not in page and "data:image" not in page and "<h2>Figures</h2>" not in page


def test_files_left_out_are_listed():
    page = to_html([result("idt", "logreg", [0.7, 0.6]), result("idt", "bce_pair", [0.6, 0.5])],
                   problems=["idt__x.json: truncated <JSON>"])
    assert "Result files left out" in page and "idt__x.json: truncated &lt;JSON&gt;" in page
    assert "Result files left out" not in to_html([result("idt", "logreg", [0.7, 0.6])])


def test_write_site_is_deterministic(results, tmp_path):
    first = write_site(results, tmp_path / "a")
    second = write_site(results, tmp_path / "b")
    assert first == tmp_path / "a" / "index.html"
    assert first.read_bytes() == second.read_bytes()


def test_text_is_escaped(results):
    odd = results[:2] + [result("idt", "ratio_distance", [0.4, 0.5, 0.45, 0.41, 0.39, 0.44, 0.43, 0.4],
                                loss_params={"note": "<script>alert(1)</script>"})]
    page = to_html(odd)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def chromium(*args: str, timeout: int = 60) -> str:
    completed = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", *args],
                               capture_output=True, text=True, timeout=timeout, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


@needs_chromium
def test_chromium_renders_the_table(results, tmp_path):
    page = write_site(results, tmp_path / "site")
    dom = chromium("--dump-dom", page.as_uri())
    rows = table_rows(dom, "board-cell")
    assert len(rows) == 5 and not any(r["hidden"] for r in rows)
    assert "idt · ratio_distance" in [r["method"] for r in rows]
    assert re.search(r'<span class="uar">71\.5</span>', dom)  # logreg's IDT mean, formatted
    assert '<span class="count" data-total="5">5 rows</span>' in dom  # the script ran


@needs_chromium
def test_chromium_sorts_and_filters(results, tmp_path):
    page = write_site(results, tmp_path / "site")
    default = [r["method"] for r in table_rows(chromium("--dump-dom", page.as_uri()), "board-cell")]
    ascending = table_rows(chromium("--dump-dom", page.as_uri() + "#sort=uar:asc"), "board-cell")
    assert [r["uar"] for r in ascending] == sorted(r["uar"] for r in ascending)
    assert [r["method"] for r in ascending] != default
    by_name = table_rows(chromium("--dump-dom", page.as_uri() + "#sort=method:desc"), "board-cell")
    assert [r["method"] for r in by_name] == sorted(default, reverse=True)
    dom = chromium("--dump-dom", page.as_uri() + "#q=bce&protocol=idt")
    shown = [r["method"] for r in table_rows(dom, "board-cell") if not r["hidden"]]
    assert shown == ["idt · bce_pair"] and "1 of 5 rows" in dom


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


@needs_chromium
def test_chromium_screenshot(results, tmp_path):
    page = write_site(results, tmp_path / "site")
    shot = tmp_path / "page.png"
    chromium("--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1600",
             f"--screenshot={shot}", page.as_uri())
    assert png_size(shot) == (1280, 1600) and shot.stat().st_size > 50_000


@pytest.mark.slow
@needs_chromium
def test_screenshot_script_on_the_committed_results(tmp_path):
    """What docs/leaderboard.png is made with; SER_BENCH_SAVE_SCREENSHOT=docs/leaderboard.png keeps the shot."""
    shot = tmp_path / "leaderboard.png"
    completed = subprocess.run(["bash", str(ROOT / "scripts" / "leaderboard_screenshot.sh"),
                                str(ROOT / "results" / "sim-demo"), str(shot), str(tmp_path / "site")],
                               capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert png_size(shot) == (1280, 1600) and shot.stat().st_size > 100_000
    dom = chromium("--dump-dom", (tmp_path / "site" / "index.html").as_uri())
    # 45 few-shot rows would be three frozen settings for the baselines too: they have no layers to freeze
    assert len(table_rows(dom, "board-cell")) == 15 and len(table_rows(dom, "board-k")) == 33
    if os.environ.get("SER_BENCH_SAVE_SCREENSHOT"):
        shutil.copyfile(shot, ROOT / os.environ["SER_BENCH_SAVE_SCREENSHOT"])
