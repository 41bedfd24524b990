"""``ser-bench datasets check`` on a copy with unusual but usable files (stereo, 44.1 kHz, 8-bit, 24-bit:
notes, not errors) and a truncated file (an error that says truncated, with the announced and the
actual length); and the usage example of a malformed ``--corpus-path``."""
from __future__ import annotations

import numpy as np
import soundfile as sf

from ser_bench.cli.main import main

from .conftest import clip_name

TONE = 0.3 * np.sin(2 * np.pi * 220 * np.arange(8000) / 16000)


def test_datasets_check_notes_unusual_formats_and_names_truncation(copy_tree, cache_dir, capsys):
    tree = copy_tree()
    sf.write(tree / clip_name(1, "anger", 0), np.stack([TONE, TONE], axis=1), 16000, subtype="PCM_16")
    sf.write(tree / clip_name(1, "anger", 1), np.interp(np.arange(22050), np.arange(8000) * 2.75625, TONE), 44100,
             subtype="PCM_16")
    sf.write(tree / clip_name(1, "anger", 2), TONE, 16000, subtype="PCM_U8")
    sf.write(tree / clip_name(1, "anger", 3), TONE, 16000, subtype="PCM_24")
    cut = tree / clip_name(2, "sadness", 0)
    cut.write_bytes(cut.read_bytes()[:100])  # 16000 bytes of audio announced, 56 present
    code = main(["datasets", "check", "ravdess", "--corpus-path", f"ravdess={tree}", "--cache-dir", str(cache_dir)])
    out = capsys.readouterr().out
    assert code == 1  # the truncated file is an error; the notes are not
    lines = out.splitlines()
    (truncated,) = [line for line in lines if line.startswith("ERROR")]
    assert str(cut) in truncated and "truncated: the header announces 8000 samples (0.50 s), the file holds 28" in truncated
    notes = {line.split(": ", 1)[1] for line in lines if line.startswith("NOTE")}
    assert notes == {"2 channels (averaged to mono)", "44100 Hz (resampled to 16000 Hz)",
                     "8-bit samples (256 levels: coarse; features may be noisier than from 16-bit)",
                     "24-bit samples (read at full precision; corpora usually ship 16-bit: a converted copy may "
                     "give slightly different numbers)"}, out
    assert "1 errors," in out and ", 4 notes" in out  # (the warnings: counts of a 3-actor copy)


def test_a_malformed_corpus_path_shows_a_corpus_path_example(capsys, tmp_path):
    code = main(["datasets", "--corpus-path", "ravdess", "--cache-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "--corpus-path 'ravdess' is not KEY=VALUE" in err
    assert "e.g. --corpus-path ravdess=/data/RAVDESS" in err and "k=2,4,8" not in err


def test_a_rerun_on_a_repaired_copy_says_which_cell_was_recomputed_and_why(copy_tree, cache_dir, tmp_path, capsys):
    damaged, clean = copy_tree("damaged"), copy_tree("clean")
    (damaged / clip_name(1, "sadness", 2)).write_bytes(b"RIFF")
    argv = ["-q", "run", "--executor", "serial", "--target", "ravdess", "--protocol", "idt", "--loss", "logreg",
            "--labels", "anger,sadness", "--seed", "0", "--results", str(tmp_path / "results"), "--cache-dir",
            str(cache_dir), "--skip-bad-files", "--no-leaderboard"]
    assert main([*argv, "--corpus-path", f"ravdess={damaged}"]) == 0
    assert "warning: corpus 'ravdess': 1 files left out" in capsys.readouterr().err
    assert main([*argv, "--corpus-path", f"ravdess={clean}"]) == 0
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("  recomputed ")]
    assert "idt__logreg__none__ravdess__seed0__" in line and "changed" in line  # the reason is the runner's


def test_datasets_check_checks_its_dataset_params(capsys, tmp_path):
    code = main(["datasets", "check", "sim-ravdess", "--dataset-param", "speakers=abc", "--cache-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "speakers='abc' is not a whole number" in err and "e.g. speakers=24" in err
    assert not (tmp_path / "simulated").exists()
