"""Hostile input, second round: the cases that gave a wrong number without a word. Training that
diverged, the same clip on both sides of a split, tuning trials scored on an older corpus, files dropped
without a trace, and --validation-speakers 0 silently meaning the default."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ser_bench.cli.main import main
from ser_bench.results.store import load_results

from .conftest import LABELS, clip_name, write_tree

FAST = ["-q", "run", "--executor", "serial", "--seed", "0", "--train-param", "epochs=3", "--no-leaderboard",
        "--labels", ",".join(LABELS)]


def ravdess_args(tree: Path, cache: Path, results: Path) -> list[str]:
    return ["--corpus-path", f"ravdess={tree}", "--cache-dir", str(cache), "--results", str(results)]


def csv_of(tree: Path, rows) -> Path:
    """A CSV manifest at ``tree/manifest.csv`` with ``rows`` (path relative to ``tree``, speaker, emotion)."""
    path = tree / "manifest.csv"
    pd.DataFrame(rows, columns=["path", "speaker", "emotion"]).to_csv(path, index=False)
    return path


def rows_of(tree: Path, actors=(1, 2, 3)):
    return [(clip_name(a, e, k), f"{a:02d}", e) for a in actors for e in LABELS for k in range(4)]


# --- 1. training that produced nothing ------------------------------------------------------------------

NAN_PLUGINS = {
    "a loss that returns NaN": (
        "import torch\nfrom ser_bench import hookimpl\nfrom ser_bench.plugin_api.types import LossSpec\n\n\n"
        "def build():\n    return lambda model, x, y: model.embed(x).sum() * float('nan')\n\n\n"
        "@hookimpl\ndef ser_bench_losses():\n"
        "    return [LossSpec(name='nanloss', build=build, summary='NaN', output='embedding',\n"
        "                     encoder_kinds=('embedding', 'siamese'), default_head='prototype')]\n",
        ["--loss", "nanloss"], "nanloss (training, encoder siamese-mlp) on split 'loso-01': the training loss was nan "
                               "at step 1"),
    "an encoder whose embeddings are NaN": (
        "import torch\nfrom ser_bench import hookimpl\nfrom ser_bench.plugin_api.types import EncoderSpec\n\n\n"
        "class NanEncoder(torch.nn.Module):\n    def embed(self, x):\n        return x * float('nan')\n\n\n"
        "def build(input_dim):\n    return NanEncoder()\n\n\n"
        "@hookimpl\ndef ser_bench_encoders():\n"
        "    return [EncoderSpec(name='nan-embed', build=build, summary='NaN', kind='embedding')]\n",
        ["--loss", "logreg", "--encoder", "nan-embed"],
        "logreg (encoder nan-embed) on split 'loso-01': the embeddings of its support clips are not finite"),
}


@pytest.mark.parametrize("case", NAN_PLUGINS)
def test_a_method_that_produces_nan_fails_its_cell_naming_method_and_split(case, clean_tree, cache_dir, tmp_path,
                                                                          capsys):
    source, args, message = NAN_PLUGINS[case]
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "nanplugin.py").write_text(source)
    results = tmp_path / "results"
    code = main(["--plugins-dir", str(plugins), *FAST, "--protocol", "idt", "--target", "ravdess", *args,
                 *ravdess_args(clean_tree, cache_dir, results)])
    err = capsys.readouterr().err
    assert code == 1 and message in err, err
    assert not list(results.glob("*.json"))  # never stored as a result


def test_divergence_fails_the_cell_instead_of_scoring_chance(clean_tree, cache_dir, tmp_path, capsys):
    results = tmp_path / "results"
    code = main([*FAST, "--protocol", "idt", "--target", "ravdess", "--loss", "bce_pair", "--train-param", "lr=1e12",
                 *ravdess_args(clean_tree, cache_dir, results)])
    err = capsys.readouterr().err
    assert code == 1 and "bce_pair (training, encoder siamese-mlp) on split 'loso-" in err
    assert "at step" in err and "training diverged" in err and "lr=" in err
    assert not list(results.glob("*.json"))


def test_a_tuning_trial_that_diverges_fails_and_is_never_chosen(clean_tree, cache_dir, tmp_path):
    results = tmp_path / "results"
    code = main([*FAST, "--protocol", "idt", "--target", "ravdess", "--loss", "bce_pair", "--tune", "3",
                 "--search", "training.lr=0.001|1e12", "--search", "training.epochs=off",
                 "--search", "training.weight_decay=off", "--search", "encoder.hidden=off",
                 *ravdess_args(write_tree(tmp_path / "five", actors=(1, 2, 3, 4, 5)), cache_dir, results),
                 "--validation-speakers", "2"])
    assert code == 0
    (result,) = load_results(results)
    history = result.tuning["history"]
    failed = [t for t in history if t["state"] == "FAIL"]
    assert result.tuning["best_values"]["training.lr"] == 0.001
    assert all("diverged" in t["error"] for t in failed) and all(t["values"]["training.lr"] == 1e12 for t in failed)


# --- 2. the same clip on both sides ----------------------------------------------------------------------


def test_a_recording_listed_again_under_another_speaker_is_refused(copy_tree, cache_dir, tmp_path, capsys):
    tree = copy_tree()
    rows = rows_of(tree)
    for path, _, emotion in rows_of(tree, actors=(1,)):  # speaker 01's clips again, as speaker 99
        copy = Path(path).with_name("again_" + Path(path).name)
        shutil.copy(tree / path, tree / copy)
        rows.append((str(copy), "99", emotion))
    csv = csv_of(tree, rows)
    results = tmp_path / "results"
    code = main([*FAST, "--protocol", "idt", "--target", "csv", "--loss", "logreg", "--dataset-param",
                 f"csv.path={csv}", "--cache-dir", str(cache_dir), "--results", str(results)])
    err = capsys.readouterr().err
    assert code == 2 and "8 recording(s) appear under more than one speaker" in err
    assert "(speaker 01)" in err and "(speaker 99)" in err and not list(results.glob("*.json"))


@pytest.mark.parametrize("case, says", [("every row twice", "is listed 2 times: row 2: speaker 01"),
                                        ("one clip under two emotions", "is listed 2 times (they disagree): row 2")])
def test_a_manifest_listing_a_file_twice_is_refused_before_any_work(case, copy_tree, tmp_path, capsys, says):
    tree = copy_tree()
    rows = rows_of(tree)
    if case == "every row twice":
        rows = rows + rows
    else:
        path, speaker, _ = rows[0]
        rows.append((path, speaker, "sadness" if rows[0][2] == "anger" else "anger"))
    csv = csv_of(tree, rows)
    cache = tmp_path / "cache"
    code = main([*FAST, "--protocol", "idt", "--target", "csv", "--loss", "logreg", "--dataset-param",
                 f"csv.path={csv}", "--cache-dir", str(cache), "--results", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2 and says in err and "speaker 01, emotion" in err
    assert not (cache / "features").exists()  # refused before any feature was extracted


def test_a_source_holding_a_recording_of_the_target_is_refused(copy_tree, cache_dir, tmp_path, capsys):
    tree = copy_tree()
    other = write_tree(tmp_path / "other", actors=(7, 8))
    shutil.copy(tree / clip_name(1, "anger", 0), other / clip_name(7, "anger", 0))  # the same take, renamed
    csv = csv_of(other, rows_of(other, actors=(7, 8)))
    code = main([*FAST, "--protocol", "oodt", "--source", "csv", "--target", "ravdess", "--loss", "logreg",
                 "--dataset-param", f"csv.path={csv}", *ravdess_args(tree, cache_dir, tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2 and "hold 1 identical recording(s)" in err and "Actor_07" in err


# --- 3. tuning trials scored on an older corpus -----------------------------------------------------------


def test_a_recomputed_cell_does_not_reuse_tuning_trials_of_the_old_corpus(cache_dir, tmp_path, capsys):
    tree = write_tree(tmp_path / "ravdess", actors=(1, 2, 3, 4, 5))
    results = tmp_path / "results"
    args = [*FAST, "--protocol", "idt", "--target", "ravdess", "--loss", "logreg", "--tune", "2",
            "--validation-speakers", "2", *ravdess_args(tree, cache_dir, results)]
    assert main(args) == 0
    first = load_results(results)[0].tuning["history"]
    # The corpus changes: one clip replaced by another take.
    shutil.copy(tree / clip_name(5, "anger", 1), tree / clip_name(5, "anger", 0))
    shutil.copy(tree / clip_name(5, "sadness", 1), tree / clip_name(5, "anger", 1))
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "recomputed" in err and "scored on other data" in err
    second = load_results(results)[0].tuning["history"]
    assert [t["number"] for t in second] == [0, 1]  # two fresh trials, not the two old ones replayed
    assert len(first) == 2


def test_a_damaged_tuning_journal_is_set_aside_and_named(cache_dir, tmp_path, capsys):
    tree = write_tree(tmp_path / "ravdess", actors=(1, 2, 3, 4, 5))
    results = tmp_path / "results"
    args = [*FAST, "--protocol", "idt", "--target", "ravdess", "--loss", "logreg", "--tune", "2",
            "--validation-speakers", "2", *ravdess_args(tree, cache_dir, results)]
    journals = results / ".tuning"
    journals.mkdir(parents=True)
    from ser_bench.plugin_api.manager import PluginSettings, load_registry
    from ser_bench.running.grid import Grid, expand

    registry = load_registry(PluginSettings(entry_points=False))
    (cell,) = expand(Grid(protocols=["idt"], losses=["logreg"], targets=["ravdess"], seeds=[0],
                          base={"labels": LABELS, "training": {"epochs": 3},
                                "tuning": {"trials": 2, "validation_speakers": 2}}), registry)
    (journals / f"{cell.cell_id()}.journal").write_text("{not json\n")
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "could not be read" in err and ".damaged-" in err
    assert list(journals.glob("*.damaged-*"))


# --- 4. files dropped without a trace -----------------------------------------------------------------------


def test_an_actor_folder_that_is_a_symlink_is_read(copy_tree, cache_dir, tmp_path):
    tree = copy_tree()
    elsewhere = tmp_path / "elsewhere"
    shutil.move(str(tree / "Actor_03"), elsewhere)
    os.symlink(elsewhere, tree / "Actor_03")
    results = tmp_path / "results"
    assert main([*FAST, "--protocol", "idt", "--target", "ravdess", "--loss", "logreg",
                 *ravdess_args(tree, cache_dir, results)]) == 0
    (result,) = load_results(results)
    assert result.data["target"].speakers == 3 and len(result.splits) == 3


def test_a_dangling_symlinked_clip_is_named_not_dropped(copy_tree, cache_dir, tmp_path, capsys):
    tree = copy_tree()
    link = tree / clip_name(2, "anger", 0)
    link.unlink()
    os.symlink(tmp_path / "gone.wav", link)
    results = tmp_path / "results"
    args = [*FAST, "--protocol", "idt", "--target", "ravdess", "--loss", "logreg",
            *ravdess_args(tree, cache_dir, results)]
    assert main(args) == 2
    assert f"{link}: not an audio file: a symbolic link to {tmp_path / 'gone.wav'}, which does not exist" in \
        capsys.readouterr().err
    assert main([*args, "--skip-bad-files"]) == 0
    (result,) = load_results(results)
    assert any(str(link) in f and "symbolic link" in f for f in result.data["target"].skipped_files)


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_things_named_like_clips_that_are_not_files_are_named(kind, copy_tree, cache_dir, tmp_path, capsys):
    tree = copy_tree()
    odd = tree / clip_name(2, "sadness", 3)
    odd.unlink()
    os.mkdir(odd) if kind == "folder" else os.mkfifo(odd)
    code = main([*FAST, "--protocol", "idt", "--target", "ravdess", "--loss", "logreg",
                 *ravdess_args(tree, cache_dir, tmp_path / "results")])
    err = capsys.readouterr().err
    named = "not an audio file: " + ("a folder" if kind == "folder" else "a named pipe (FIFO)") + " named like a clip"
    assert code == 2 and f"{odd}: {named}" in err


# --- 5. --validation-speakers 0 -----------------------------------------------------------------------------


def test_zero_validation_speakers_is_refused_not_read_as_the_default(clean_tree, cache_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*FAST, "--protocol", "idt", "--target", "ravdess", "--loss", "logreg", "--tune", "1",
              "--validation-speakers", "0", *ravdess_args(clean_tree, cache_dir, tmp_path / "results")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "expected a whole number >= 2" in err and "leave the option out" in err

