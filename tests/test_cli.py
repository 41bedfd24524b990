"""The command line: fast listing without torch, errors a user can act on, the leaderboard command."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import ser_bench
from ser_bench.cli.main import main


def run_cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "ser_bench.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **(env or {})}, timeout=120)


@pytest.mark.parametrize("argv", [["--help"], ["plugins"], ["list", "losses"], ["list", "datasets"]])
def test_fast_commands_do_not_import_torch_or_opensmile(argv):
    code = ("import sys\nfrom ser_bench.cli.main import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'opensmile', 'pytorch_metric_learning') if m in sys.modules]\n"
            "assert not heavy, heavy\n" % argv)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_plugins_lists_kind_distribution_and_version(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "loss" in out and "ratio_distance" in out and "ser-bench" in out and ser_bench.__version__ in out


def test_missing_corpus_error_says_where_it_looked_and_what_to_do(tmp_path):
    proc = run_cli("run", "--loss", "ratio_distance", "--source", "crema", "--data-dir", str(tmp_path / "corpora"),
                   cwd=tmp_path, env={"SER_BENCH_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 2
    err = proc.stderr
    assert "Traceback" not in err
    assert "corpus 'crema' not found" in err and str(tmp_path / "corpora" / "CREMA-D") in err
    assert "--data-dir" in err and "SER_BENCH_DATA_DIR" in err and "sim-crema" in err


def test_unknown_loss_suggests_a_name(tmp_path):
    proc = run_cli("run", "--loss", "ratio_distanse", "--source", "sim-crema", "--target", "sim-ravdess", cwd=tmp_path)
    assert proc.returncode == 2 and "Did you mean 'ratio_distance'" in proc.stderr


def test_protocol_needing_a_source_says_so(tmp_path):
    proc = run_cli("run", "--loss", "bce_pair", "--protocol", "fewshot", "--target", "sim-ravdess", cwd=tmp_path)
    assert proc.returncode == 2 and "needs a source corpus" in proc.stderr


def test_leaderboard_of_an_empty_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["leaderboard", str(tmp_path)]) == 2
    assert re.search(r"no (usable )?result files", capsys.readouterr().err)


@pytest.mark.slow
def test_run_and_leaderboard_end_to_end(tmp_path, cache_dir, tiny_corpora):
    results = tmp_path / "results"
    args = ["-q", "run", "--loss", "bce_pair,ratio_distance", "--source", "sim-crema", "--target", "sim-ravdess",
            "--protocol", "oodt,fewshot", "--protocol-param", "fewshot.k=1,2", "--protocol-param", "fewshot.repeats=2",
            "--train-param", "epochs=2", "--train-param", "finetune_steps=3",
            "--dataset-param", "sim-ravdess.speakers=4", "--dataset-param", "sim-crema.speakers=4",
            "--executor", "serial", "--seed", "0", "--results", str(results), "--cache-dir", str(cache_dir)]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "fewshot · ratio_distance" in proc.stdout and "sim-crema → sim-ravdess" in proc.stdout
    assert len(list(results.glob("*.json"))) == 4
    board = run_cli("leaderboard", str(results), cwd=tmp_path)
    summary = board.stdout.split("\n## ")[0]  # the summary table, before the sections that follow it
    assert board.returncode == 0 and summary.count("fewshot · bce_pair") == 1
    paired = run_cli("leaderboard", str(results), "--paired", "bce_pair", cwd=tmp_path)
    assert paired.returncode == 0, paired.stderr
    rows = [line for line in paired.stdout.splitlines() if line.startswith("| sim-crema → sim-ravdess | bce_pair |")]
    assert len(rows) == 1 and "| ratio_distance | 4 |" in rows[0]  # 2 k x 2 repeats, episodes matched by hash
    rerun = run_cli(*args, cwd=tmp_path)
    assert "0 cells run, 4 already" in rerun.stderr


def test_datasets_lists_found_and_missing_corpora_with_licence(tmp_path):
    root = tmp_path / "corpora" / "RAVDESS" / "Actor_01"
    root.mkdir(parents=True)
    import numpy as np
    import soundfile as sf

    sf.write(str(root / "03-01-05-02-01-01-01.wav"), np.zeros(8000, dtype=np.float32), 16000)
    table = run_cli("datasets", "--data-dir", str(tmp_path / "corpora"), cwd=tmp_path).stdout
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in table.splitlines()
            if line.startswith("| ") and "corpus" not in line}
    assert rows["ravdess"][0] == "English" and rows["ravdess"][-1] == "found" and rows["crema"][-1] == "not found"
    assert rows["emodb"][:2] == ["German", "10"] and rows["sim-ravdess"][-1] == "simulated"
    assert "--verbose" in table and "looked in" not in table
    proc = run_cli("datasets", "--verbose", "--data-dir", str(tmp_path / "corpora"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"ravdess: found at {tmp_path / 'corpora' / 'RAVDESS'}" in out and "1 clips, 1 speakers" in out
    assert "crema: not found" in out and "looked in" in out and "Cao et al. (2014)" in out
    assert "CC BY-NC-SA 4.0" in out and "sim-ravdess: simulated" in out


def test_config_file_points_at_a_corpus_and_check_exits_nonzero_on_errors(tmp_path):
    corpus = tmp_path / "somewhere" / "my ravdess"
    (corpus / "Actor_03").mkdir(parents=True)
    (corpus / "Actor_03" / "03-01-05-02-01-01-03.wav").write_bytes(b"")
    (tmp_path / "ser-bench.toml").write_text(f'[corpora]\nravdess = "{corpus}"\n')
    proc = run_cli("datasets", "check", "ravdess", cwd=tmp_path)
    assert proc.returncode == 1
    assert "03-01-05-02-01-01-03.wav: empty file" in proc.stdout and "1 errors" in proc.stdout


@pytest.mark.parametrize("kind", ["loss", "encoder", "dataset"])
def test_new_writes_a_plugin_whose_own_test_passes(tmp_path, kind):
    made = run_cli("new", kind, f"my-{kind}", "--dir", str(tmp_path / "plugs"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "plugs")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    listed = run_cli("--plugins-dir", str(tmp_path / "plugs"), "list", {"loss": "losses"}.get(kind, kind + "s"), cwd=tmp_path)
    assert f"my-{kind}" in listed.stdout
    again = run_cli("new", kind, f"my-{kind}", "--dir", str(tmp_path / "plugs"), cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr


def test_simulate_writes_a_tree_in_the_real_layout(tmp_path):
    proc = run_cli("-q", "simulate", "sim-ravdess", "--out", str(tmp_path / "out"), "--speakers", "1", "--workers", "1",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    files = sorted((tmp_path / "out" / "simulated").rglob("*.wav"))
    assert len(files) == 60 and all(f.parent.name == "Actor_01" for f in files)
    assert "60 clips of 1 speakers" in proc.stdout
    refused = run_cli("simulate", "ravdess", "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert refused.returncode == 2 and "not a simulated corpus" in refused.stderr


def test_no_model_cache_trains_afresh_and_stores_no_model(tmp_path, cache_dir, tiny_corpora):
    """``--no-model-cache``: the same cell writes no trained model (features still come from the cache)."""
    cache = tmp_path / "cache"
    cache.mkdir()
    for entry in cache_dir.iterdir():  # the session's corpora and features, but no models
        if entry.name != "models":
            (cache / entry.name).symlink_to(entry)
    args = ["-q", "run", "--loss", "cross_entropy", "--source", "sim-crema", "--target", "sim-ravdess",
            "--protocol", "oodt", "--train-param", "epochs=2", "--dataset-param", "sim-ravdess.speakers=4",
            "--dataset-param", "sim-crema.speakers=4", "--executor", "serial", "--seed", "0",
            "--cache-dir", str(cache)]
    assert main([*args, "--no-model-cache", "--results", str(tmp_path / "fresh")]) == 0
    assert not list(cache.glob("models/**/*.pt"))
    assert main([*args, "--results", str(tmp_path / "cached")]) == 0
    assert list(cache.glob("models/**/*.pt"))
