"""scripts/compare_nkululeko.py without nkululeko: the clip table and its CSV, the INI, result parsing,
the run order and folders, the table, and the errors a user meets."""
from __future__ import annotations

import ast
import configparser
import csv
import importlib.util
import json
import statistics
import sys
import wave
from pathlib import Path
from types import SimpleNamespace

import pytest

from .conftest import SHARED_DATA

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compare_nkululeko.py"
FOUR = ["anger", "happiness", "sadness", "fear"]

# Written by a real run of nkululeko 1.14.1 (scripts/compare_nkululeko.py's INI, real RAVDESS-16k, 768 clips):
# results/run_0/<exp>_last_0_000.txt and results/run_0/logo_results.txt.
NK_LAST = (
    '{"anger": {"precision": 0.6775956284153005, "recall": 0.6458333333333334, "f1-score": 0.6613333333333333, '
    '"support": 192.0}, "fear": {"precision": 0.6201117318435754, "recall": 0.578125, "f1-score": '
    '0.5983827493261455, "support": 192.0}, "happiness": {"precision": 0.592391304347826, "recall": '
    '0.5677083333333334, "f1-score": 0.5797872340425532, "support": 192.0}, "sadness": {"precision": '
    '0.6216216216216216, "recall": 0.71875, "f1-score": 0.6666666666666666, "support": 192.0}, "accuracy": '
    '0.6276041666666666, "macro avg": {"precision": 0.6279300715570809, "recall": 0.6276041666666667, '
    '"f1-score": 0.6265424958421747, "support": 768.0}, "weighted avg": {"precision": 0.6279300715570809, '
    '"recall": 0.6276041666666666, "f1-score": 0.6265424958421747, "support": 768.0}}\n'
    "result per class (F1 score): [0.661, 0.598, 0.58, 0.667] from epoch: 0")
NK_LOGO = (
    "LOGO: mean 0.628,  std: 0.118\n"
    "LOGO results: [0.65625,0.75,0.59375,0.625,0.71875,0.625,0.71875,0.84375,0.4375,0.46875,0.6875,0.625,"
    "0.875,0.53125,0.53125,0.71875,0.375,0.46875,0.5625,0.65625,0.59375,0.65625,0.65625,0.6875]")
NK_NAME_FILE = "ravdess_emotion_svm_os_logo-24_scale-standard_set-eGeMAPSv02_last_0_000.txt"
# Per-speaker UARs of a real ser-bench run (idt, egemaps + softmax_mlp, seed 0; summary UAR 0.6158854...).
SB_FOLDS = {"01": 0.59375, "02": 0.78125, "03": 0.71875, "04": 0.6875, "05": 0.75, "06": 0.5, "07": 0.6875,
            "08": 0.65625, "09": 0.5, "10": 0.59375, "11": 0.5, "12": 0.65625, "13": 0.78125, "14": 0.5625,
            "15": 0.65625, "16": 0.65625, "17": 0.5, "18": 0.46875, "19": 0.625, "20": 0.6875, "21": 0.40625,
            "22": 0.59375, "23": 0.4375, "24": 0.78125}


@pytest.fixture(scope="module")
def cmp():
    spec = importlib.util.spec_from_file_location("compare_nkululeko", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["compare_nkululeko"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("compare_nkululeko", None)


def _silent_wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 160)


@pytest.fixture(scope="module")
def fake_ravdess(tmp_path_factory) -> Path:
    """RAVDESS's layout and names, silent clips: 24 actors x 60 speech clips, plus song clips, a README and
    a hidden file that must all be left out."""
    root = tmp_path_factory.mktemp("ravdess")
    for actor in range(1, 25):
        folder = root / f"Actor_{actor:02d}"
        for emotion in range(1, 9):
            for intensity in ((1,) if emotion == 1 else (1, 2)):
                for statement in (1, 2):
                    for repetition in (1, 2):
                        _silent_wav(folder / f"03-01-{emotion:02d}-{intensity:02d}-{statement:02d}-{repetition:02d}-"
                                             f"{actor:02d}.wav")
        _silent_wav(folder / f"03-02-05-01-01-01-{actor:02d}.wav")  # song: not used
    (root / "README.txt").write_text("not audio")
    _silent_wav(root / "Actor_01" / ".03-01-05-01-01-01-01.wav")
    return root


def _check_four_emotion_table(clips):
    assert len(clips) == 768
    assert len({c.speaker for c in clips}) == 24
    assert sorted({c.emotion for c in clips}) == sorted(FOUR)
    by_emotion = {e: sum(c.emotion == e for c in clips) for e in FOUR}
    assert set(by_emotion.values()) == {192}
    assert {sum(c.speaker == s for c in clips) for s in {c.speaker for c in clips}} == {32}


def test_clip_table_of_a_ravdess_tree_keeps_the_768_speech_clips_of_four_emotions(cmp, fake_ravdess):
    clips = cmp.clip_table(fake_ravdess)
    _check_four_emotion_table(clips)
    assert all("-01-" == c.path.name[2:6] and c.path.is_absolute() for c in clips)  # speech channel only


def test_clip_list_equals_ser_bench_loader_and_a_difference_is_an_error(cmp, fake_ravdess):
    clips = cmp.clip_table(fake_ravdess)
    assert cmp.same_clips_as_ser_bench(clips, fake_ravdess) == {"checked": True, "clips": 768}
    with pytest.raises(cmp.CompareError, match="1 only in ser-bench"):
        cmp.same_clips_as_ser_bench(clips[1:], fake_ravdess)


@pytest.mark.skipif(not (SHARED_DATA / "ravdess-16k").is_dir(), reason="../shared/data not present")
def test_real_ravdess_gives_the_same_768_clips_as_ser_bench(cmp):
    root = SHARED_DATA / "ravdess-16k"
    clips = cmp.clip_table(root)
    _check_four_emotion_table(clips)
    assert cmp.same_clips_as_ser_bench(clips, root)["checked"]


def test_the_csv_has_one_row_per_clip_and_one_fold_per_speaker(cmp, fake_ravdess, tmp_path):
    clips = cmp.clip_table(fake_ravdess)
    path = cmp.write_clip_csv(clips, tmp_path / "db" / "ravdess.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["file", "speaker", "emotion", "fold"]
    assert len(rows) == 768
    assert all(r["fold"] == r["speaker"] for r in rows)
    assert len({r["speaker"] for r in rows}) == 24 and sorted({r["emotion"] for r in rows}) == sorted(FOUR)
    assert all(Path(r["file"]).is_absolute() and Path(r["file"]).is_file() for r in rows)
    assert {r["file"] for r in rows} == {str(c.path) for c in clips}


def test_the_ini_is_a_csv_egemaps_svm_leave_one_speaker_out_experiment(cmp, tmp_path):
    text = cmp.nkululeko_ini(tmp_path / "ravdess.csv", tmp_path / "root", folds=24)
    config = configparser.ConfigParser()
    config.read_string(text)
    assert config["EXP"]["root"] == f"{tmp_path / 'root'}/" and config["EXP"]["name"] == cmp.NK_NAME
    data = config["DATA"]
    assert ast.literal_eval(data["databases"]) == ["ravdess"]
    assert data["ravdess"] == str(tmp_path / "ravdess.csv")
    assert data["ravdess.type"] == "csv" and data["ravdess.absolute_path"] == "True"
    assert data["target"] == "emotion" and ast.literal_eval(data["labels"]) == FOUR
    feats = config["FEATS"]
    assert ast.literal_eval(feats["type"]) == ["os"] and feats["set"] == "eGeMAPSv02"
    assert feats["scale"] == "standard"
    assert config["MODEL"]["type"] == "svm" and config["MODEL"]["logo"] == "24"


def _nk_results(exp_dir: Path, last=NK_LAST, logo=NK_LOGO) -> None:
    run = exp_dir / "results" / "run_0"
    run.mkdir(parents=True, exist_ok=True)
    (run / NK_NAME_FILE).write_text(last)
    if logo is not None:
        (run / "logo_results.txt").write_text(logo)


def test_nkululeko_uar_is_parsed_from_a_real_result_file(cmp, tmp_path):
    _nk_results(tmp_path)
    got = cmp.parse_nkululeko_results(tmp_path)
    assert got["uar"] == pytest.approx(0.6276041666666667) and got["clips"] == 768
    assert len(got["fold_uars"]) == 24
    # every fold holds 8 clips of each emotion, so the pooled UAR is the mean of the folds' UARs
    assert statistics.fmean(got["fold_uars"]) == pytest.approx(got["uar"], abs=1e-12)


def test_nkululeko_without_results_is_a_clear_error(cmp, tmp_path):
    with pytest.raises(cmp.CompareError, match="no nkululeko result file"):
        cmp.parse_nkululeko_results(tmp_path)
    with pytest.raises(cmp.CompareError, match="LOGO results"):
        cmp.parse_logo_results("LOGO: mean 0.628")


def _sb_result(folder: Path, seed: int, folds=SB_FOLDS, from_cache: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {"cell_id": f"idt__x__seed{seed}", "summary": {"uar": statistics.fmean(folds.values())},
              "data": {"target": {"clips_used": 768, "speakers": 24}},
              "timings": {"models_from_cache": from_cache},
              "splits": [{"name": f"loso-{s}", "info": {"test_speaker": s}, "metrics": {"uar": u}}
                         for s, u in folds.items()]}
    (folder / f"idt__seed{seed}.json").write_text(json.dumps(record))


def test_ser_bench_results_give_uar_and_per_speaker_folds(cmp, tmp_path):
    _sb_result(tmp_path, 0)
    (tmp_path / "paired.json").write_text("{}")  # not a result file
    got = cmp.parse_ser_bench_results(tmp_path)
    assert got["uar"] == pytest.approx(0.6158854166666666) and got["files"] == 1
    assert got["fold_uars"] == SB_FOLDS and got["clips"] == 768
    _sb_result(tmp_path, 1, {s: 1.0 for s in SB_FOLDS})
    two = cmp.parse_ser_bench_results(tmp_path)
    assert two["files"] == 2 and two["uar"] == pytest.approx((0.6158854166666666 + 1.0) / 2)
    with pytest.raises(cmp.CompareError, match="no ser-bench result file"):
        cmp.parse_ser_bench_results(tmp_path / "empty")


def _rec(job, side, wall, uar, kind="timed"):
    return {"job": job, "side": side, "wall_s": wall, "uar": uar, "kind": kind}


def test_table_shows_medians_their_ratio_and_each_sides_uar(cmp):
    records = [_rec("cold", "ser-bench", 500.0, 0.60, "warm-up"),
               _rec("cold", "ser-bench", 10.0, 0.62), _rec("cold", "nkululeko", 40.0, 0.628),
               _rec("cold", "ser-bench", 30.0, 0.64), _rec("cold", "nkululeko", 41.0, 0.628),
               _rec("cold", "ser-bench", 20.0, 0.63), _rec("cold", "nkululeko", 39.0, 0.628),
               _rec("cached-bce-pair", "ser-bench", 12.0, 0.5), _rec("cached-bce-pair", "nkululeko", 6.0, 0.628)]
    rows = cmp.summarise(records)
    assert [r["job"] for r in rows] == ["cold", "cached-bce-pair"]
    assert rows[0]["ser-bench"]["median_s"] == 20.0 and rows[0]["nkululeko"]["median_s"] == 40.0
    assert rows[0]["ratio"] == 0.5 and rows[1]["ratio"] == 2.0
    table = cmp.render_table(rows).splitlines()
    assert table[2] == ("| cold, eGeMAPS + softmax MLP + linear head | 20.0 | 40.0 | 0.50 (faster) | "
                        "63.0 (62.0–64.0) | 62.8 |")
    assert table[3].endswith("| 12.0 | 6.0 | 2.00 (slower) | 50.0 | 62.8 |")
    assert "median of 3 run(s)" in table[-1]


def test_table_of_one_side_shows_dashes_for_the_other(cmp):
    rows = cmp.summarise([_rec("cold", "ser-bench", 10.0, 0.6)])
    assert rows[0]["nkululeko"] is None and rows[0]["ratio"] is None
    assert cmp.render_table(rows).splitlines()[2].endswith("| 10.0 | – | – | 60.0 | – |")


def test_runs_are_interleaved_ser_bench_first(cmp):
    order = cmp.plan(cmp.JOBS[:2], 3, cmp.SIDES)
    assert [(j.name, r, s) for j, r, s in order[:6]] == [
        ("cold", r, s) for r in range(3) for s in ("ser-bench", "nkululeko")]
    assert [s for _, _, s in cmp.plan(cmp.JOBS, 2, ("ser-bench",))] == ["ser-bench"] * 6


def test_setup_installs_torch_first_then_the_pinned_nkululeko(cmp, tmp_path):
    venv = tmp_path / "nk"
    commands = cmp.setup_commands(venv, base_python="python3")
    assert commands[0] == ["python3", "-m", "venv", str(venv)]
    assert commands[1][-1] == "torch==2.13.0" and commands[1][:4] == [str(venv / "bin/python"), "-m", "pip", "install"]
    assert "nkululeko==1.14.1" in commands[2] and "torch==2.13.0" in commands[2]  # torch stays pinned


def test_setup_runs_the_commands_in_order_and_keeps_stdout_for_the_table(cmp, tmp_path, monkeypatch):
    calls = []

    def fake_run(command, **kwargs):
        calls.append((command, kwargs.get("stdout")))
        return SimpleNamespace(returncode=0, stdout="", stderr="")

    monkeypatch.setattr(cmp.subprocess, "run", fake_run)
    cmp.setup_nkululeko(tmp_path / "nk")
    assert [c for c, _ in calls] == cmp.setup_commands(tmp_path / "nk")
    assert all(out is sys.stderr for _, out in calls)
    calls.clear()
    monkeypatch.setattr(cmp.subprocess, "run", lambda command, **kw: SimpleNamespace(returncode=1, stdout="", stderr=""))
    with pytest.raises(cmp.CompareError, match="setup failed at: .* -m venv"):
        cmp.setup_nkululeko(tmp_path / "nk2")


def test_missing_ravdess_names_the_argument(cmp, tmp_path, capsys):
    assert cmp.main(["--ravdess", str(tmp_path / "nope"), "--only", "ser-bench", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "RAVDESS not found" in err and "--ravdess DIR" in err


def test_missing_nkululeko_says_how_to_get_it(cmp, fake_ravdess, tmp_path, capsys):
    assert cmp.main(["--ravdess", str(fake_ravdess), "--nkululeko-venv", str(tmp_path / "no-venv"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "nkululeko 1.14.1 is not installed" in err and "--setup" in err and "--only ser-bench" in err


def test_ser_bench_half_runs_without_nkululeko(cmp, fake_ravdess, tmp_path, capsys):
    argv = ["--ravdess", str(fake_ravdess), "--nkululeko-venv", str(tmp_path / "no-venv"), "--only", "ser-bench",
            "--repeats", "2", "--jobs", "cold", "--dry-run"]
    assert cmp.main(argv) == 0
    assert capsys.readouterr().out.splitlines() == ["cold\t1\tser-bench", "cold\t2\tser-bench"]


def test_a_directory_with_no_ravdess_clip_is_an_error(cmp, tmp_path):
    (tmp_path / "Actor_01").mkdir()
    with pytest.raises(cmp.CompareError, match="--ravdess DIR"):
        cmp.clip_table(tmp_path)
    _silent_wav(tmp_path / "Actor_01" / "hello.wav")
    with pytest.raises(cmp.CompareError, match="not a RAVDESS file name: .*hello.wav"):
        cmp.clip_table(tmp_path)


def test_comparison_uses_fresh_folders_warm_caches_and_never_a_cached_model(cmp, fake_ravdess, tmp_path, monkeypatch):
    """The orchestration, with a stand-in for the two tools that writes what each would write."""
    monkeypatch.setattr(cmp, "has_no_model_cache_flag", lambda exe: False)
    calls = []

    def runner(command, cwd, log_file):
        is_sb = "run" in command
        if is_sb:
            cache = Path(command[command.index("--cache-dir") + 1])
            assert not (cache / "models").exists()  # emptied before every ser-bench run
            (cache / "models").mkdir(parents=True)
            (cache / "features").mkdir(exist_ok=True)
            _sb_result(Path(command[command.index("--results") + 1]), 0)
            log_file.write_text("")
        else:
            config = configparser.ConfigParser()
            config.read(command[-1])
            exp = Path(config["EXP"]["root"]) / cmp.NK_NAME
            store = exp / "store" / "ravdess_os_all.pkl"
            reused = store.exists()
            store.parent.mkdir(parents=True, exist_ok=True)
            store.write_text("features")
            _nk_results(exp)
            log_file.write_text("Reusing extracted OpenSMILE features" if reused else "Extracting")
        calls.append((cwd, is_sb))
        return {"wall_s": 1.0, "cpu_s": 1.0, "rc": 0, "load1_before": 0.0, "log": str(log_file)}

    args = SimpleNamespace(work=tmp_path / "work", ser_bench=sys.executable, nkululeko_venv=str(tmp_path / "nk"),
                           ravdess=fake_ravdess, seed="0", repeats=2)
    run = cmp.Comparison(args, cmp.clip_table(fake_ravdess), cmp.SIDES, runner=runner)
    records = run.run(cmp.JOBS)
    kinds = [(r["job"], r["side"], r["kind"]) for r in records]
    assert kinds[:4] == [("cold", "ser-bench", "timed"), ("cold", "nkululeko", "timed")] * 2
    # warm-ups: one per ser-bench feature, one for nkululeko, each before the first cached run that needs it
    assert kinds[4:7] == [("cached-bce-pair", "ser-bench", "warm-up"), ("cached-bce-pair", "ser-bench", "timed"),
                          ("cached-bce-pair", "nkululeko", "warm-up")]
    assert kinds.count(("cached-cross-entropy", "ser-bench", "warm-up")) == 1
    assert sum(k[2] == "warm-up" for k in kinds) == 3
    assert len({cwd for cwd, _ in calls}) == len(calls)  # a fresh folder for every run
    for r in records:
        assert r["uar"] > 0.6
        if r["side"] == "nkululeko":
            cold = r["job"] == "cold" or r["kind"] == "warm-up"
            assert r["features_from_cache"] is not cold
        else:
            assert r["models_from_cache"] == 0
    check = cmp.fold_check([r for r in records if r["kind"] == "timed"], run.clips)
    assert check == {"clips": 768, "speakers": 24, "ser-bench": True, "nkululeko": True}
