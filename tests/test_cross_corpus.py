"""Transfer between corpora: unions of corpora as one source, leave-one-corpus-out, label sets across
corpora and the user's label maps, per-corpus normalisation, few-shot tuning inside the source, and the
checks that keep a target corpus's speakers and clips out of training."""
from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from ser_bench.cli.main import main
from ser_bench.data.domains import check_speakers_disjoint, speakers_by_corpus
from ser_bench.data.labels import VOCABULARY, apply_label_map, missing_labels, shared_labels
from ser_bench.data.normalise import normalise
from ser_bench.data.domains import union_parts
from ser_bench.data.unions import stack
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.types import ProtocolData
from ser_bench.reporting.tidy import corpus_label, pair_name
from ser_bench.results.store import load_results
from ser_bench.running.cells import Cell, resolve
from ser_bench.running.grid import Grid, expand, loco_pairs

# Emotion -> pitch of a synthetic clip: a learnable signal, the same in every corpus.
PITCH = {"anger": 300, "happiness": 250, "sadness": 120, "neutral": 170, "calm": 150, "fear": 330, "disgust": 200}


def write_corpus(folder: Path, emotions, speakers: int = 4, clips: int = 2, seed: int = 0) -> Path:
    """A CSV corpus of short tones in ``folder``: ``speakers`` x ``emotions`` x ``clips``; returns the CSV."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for s in range(speakers):
        for emotion in emotions:
            for c in range(clips):
                t = np.arange(8000) / 16000
                pitch = PITCH[emotion] * (1 + 0.05 * s) * (1 + 0.02 * rng.standard_normal())
                signal = 0.3 * np.sin(2 * np.pi * pitch * t) + 0.01 * rng.standard_normal(len(t))
                path = folder / f"s{s}_{emotion}_{c}.wav"
                with wave.open(str(path), "wb") as w:
                    w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
                    w.writeframes((signal * 32767).astype("<i2").tobytes())
                rows.append({"path": path.name, "speaker": f"{s:02d}", "emotion": emotion})
    csv = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    return csv


@pytest.fixture(scope="module")
def three_corpora(tmp_path_factory):
    """Three CSV corpora with different emotion sets (anger, happiness, sadness shared)."""
    root = tmp_path_factory.mktemp("corpora")
    return {
        "csv:a": write_corpus(root / "a", ["anger", "happiness", "sadness", "neutral"], seed=1),
        "csv:b": write_corpus(root / "b", ["anger", "happiness", "sadness", "calm"], seed=2),
        "csv:c": write_corpus(root / "c", ["anger", "happiness", "sadness", "fear"], seed=3),
    }


def corpus_args(corpora: dict) -> list[str]:
    return [arg for name, csv in corpora.items() for arg in ("--dataset-param", f"{name}.path={csv}")]


FAST = ["-q", "run", "--executor", "serial", "--seed", "0", "--train-param", "epochs=2", "--no-leaderboard"]


# --- unions and leave-one-corpus-out -------------------------------------------------------------------


def test_a_union_is_split_on_top_level_bars_only():
    assert union_parts("emodb|turev") == ("emodb", "turev")
    assert union_parts("ravdess[sex=male|female]|emodb+telephone") == ("ravdess[sex=male|female]", "emodb+telephone")
    assert union_parts("ravdess[sex=male|female]") == ()
    with pytest.raises(SerBenchError, match="empty part"):
        union_parts("emodb||turev")


def test_a_union_names_its_parts_and_refuses_one_corpus_twice(registry):
    spec = registry.get("datasets", "sim-crema|sim-enterface")
    assert spec.parts == ("sim-crema", "sim-enterface")
    with pytest.raises(SerBenchError, match="names sim-ravdess more than once.*overlap"):
        registry.get("datasets", "sim-ravdess[sex=male]|sim-ravdess[half=1]")
    with pytest.raises(SerBenchError, match="no dataset called 'nope'"):
        registry.get("datasets", "sim-crema|nope")


def test_stacked_speakers_are_named_by_their_corpus():
    a = pd.DataFrame({"path": ["x1", "x2"], "speaker": ["01", "02"], "emotion": ["anger", "sadness"], "corpus": "a"})
    b = pd.DataFrame({"path": ["y1"], "speaker": ["01"], "emotion": ["anger"], "corpus": "b"})
    both = stack({"a": a, "b": b})
    assert list(both["speaker"]) == ["a/01", "a/02", "b/01"] and list(both["corpus"]) == ["a", "a", "b"]
    assert speakers_by_corpus("a|b", both) == {"a": {"01", "02"}, "b": {"01"}}


def test_loco_leaves_each_corpus_out_in_turn():
    assert loco_pairs(["a", "b", "c"]) == [("a", "b|c"), ("b", "a|c"), ("c", "a|b")]
    with pytest.raises(SerBenchError, match="two or more different corpora"):
        loco_pairs(["a"])
    with pytest.raises(SerBenchError, match="single corpora"):
        loco_pairs(["a", "b|c"])


def test_loco_expands_into_one_cell_per_left_out_corpus(registry):
    grid = Grid(protocols=["oodt", "idt"], losses=["logreg"], loco=["sim-ravdess", "sim-crema", "sim-enterface"])
    cells = expand(grid, registry)
    oodt = sorted((c.source, c.target) for c in cells if c.protocol == "oodt")
    assert oodt == [("sim-crema|sim-enterface", "sim-ravdess"), ("sim-ravdess|sim-crema", "sim-enterface"),
                    ("sim-ravdess|sim-enterface", "sim-crema")]
    assert sorted(c.target for c in cells if c.protocol == "idt") == ["sim-crema", "sim-enterface", "sim-ravdess"]


def union_data(target_corpus: str = "t"):
    """A source stacked from two corpora and a target corpus, 4 speakers x 3 emotions x 2 clips each."""
    def corpus(name, speakers=4):
        return pd.DataFrame([{"path": f"{name}/{s}_{e}_{c}.wav", "speaker": f"{s:02d}", "emotion": e, "corpus": name}
                             for s in range(speakers) for e in ("anger", "happiness", "sadness") for c in range(2)])
    return stack({"a": corpus("a"), "b": corpus("b")}), corpus(target_corpus)


@pytest.mark.parametrize("protocol, params", [("oodt", {}), ("fewshot", {"k": [1, 2], "repeats": 3, "frozen": [0]})])
def test_multi_source_splits_never_train_on_a_target_speaker(registry, protocol, params):
    source, target = union_data()
    spec = registry.get("protocols", protocol)
    splits = spec.splits(ProtocolData(target=target, source=source), seed=0, **params)
    frames = {"source": source, "target": target}
    for split in splits:
        test_speakers = set(target["speaker"].iloc[list(split.test.indices)])
        assert split.test.domain == "target"
        assert split.train.domain == "source" and set(source["corpus"].iloc[list(split.train.indices)]) <= {"a", "b"}
        for part in (split.finetune, split.support):
            for subset in (part if isinstance(part, tuple) else (part,)) if part is not None else ():
                if subset.domain == "target":
                    assert not set(frames["target"]["speaker"].iloc[list(subset.indices)]) & test_speakers


def test_fewshot_tuned_on_the_source_never_touches_the_target(registry):
    source, target = union_data()
    spec = registry.get("protocols", "fewshot")
    splits = spec.validation(ProtocolData(target=target, source=source), seed=0, speakers=3, on="source",
                             k=[1, 2, 4], repeats=3, frozen=[0])
    assert splits
    for split in splits:
        parts = [split.train, split.test, *(split.finetune if isinstance(split.finetune, tuple) else (split.finetune,)),
                 *(split.support if isinstance(split.support, tuple) else (split.support,))]
        assert {p.domain for p in parts} == {"source"}
        test = set(source["speaker"].iloc[list(split.test.indices)])
        trained = set(source["speaker"].iloc[list(split.train.indices)])
        adapted = set(source["speaker"].iloc[list(split.finetune.indices)])
        assert not test & trained and not test & adapted and not adapted & trained
        assert split.info["k"] <= 2  # three speakers set aside: k stops one short


def test_a_union_holding_the_targets_speakers_is_refused():
    source, target = union_data(target_corpus="a")
    with pytest.raises(SerBenchError, match="both hold a and share 4 speakers.*Leave a out of the source"):
        check_speakers_disjoint("a|b", source, "a", target)
    check_speakers_disjoint("a|b", source, "t", union_data()[1])  # other corpora may reuse ids


def test_per_corpus_normalisation_z_scores_each_corpus_of_a_union_apart():
    source, target = union_data()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(len(source), 3)) + np.where(source["corpus"].to_numpy() == "a", 10.0, -5.0)[:, None]
    out = normalise({"source": (source, x), "target": (target, rng.normal(size=(len(target), 3)) * 4 + 2)},
                    "source", range(len(source)), "corpus")
    for corpus in ("a", "b"):
        rows = source["corpus"].to_numpy() == corpus
        assert np.allclose(out["source"][rows].mean(0), 0, atol=1e-5)
        assert np.allclose(out["source"][rows].std(0), 1, atol=1e-3)
    assert np.allclose(out["target"].mean(0), 0, atol=1e-5)


def test_boards_show_a_union_without_breaking_a_markdown_table():
    assert pair_name("emodb|turev", "ravdess") == "emodb ∪ turev → ravdess"
    assert corpus_label("ravdess[sex=male|female]|emodb") == "ravdess[sex=male|female] ∪ emodb"


# --- label sets and label maps -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.sets(st.sampled_from(VOCABULARY), min_size=1),
                       min_size=1))
def test_shared_labels_are_what_every_corpus_has_or_a_refusal_naming_each(emotions):
    common = set.intersection(*emotions.values())
    if len(common) < 2:
        with pytest.raises(SerBenchError) as err:
            shared_labels(emotions)
        assert all(f"{name}: " in str(err.value) for name in emotions) and "--label-map" in str(err.value)
    else:
        shared = shared_labels(emotions)
        assert set(shared) == common and list(shared) == [e for e in VOCABULARY if e in common]
        assert missing_labels(shared, emotions) == ""


def test_missing_labels_names_what_each_corpus_lacks_and_has():
    text = missing_labels(("anger", "fear"), {"ravdess": {"anger", "fear", "calm"}, "turev": {"anger", "calm"}})
    assert "turev has no fear (its emotions: anger, calm)" in text and "ravdess has" not in text


def test_a_label_map_renames_and_moves_circumplex_values_but_keeps_annotated_ones():
    from ser_bench.data.labels import add_dimensions

    frame = add_dimensions(pd.DataFrame({"emotion": ["calm", "calm", "anger"], "speaker": ["1", "2", "1"]}))
    frame.loc[1, "valence"] = 0.9  # an annotated value, not the circumplex's
    mapped = apply_label_map(frame, {"calm": "neutral"}, "turev")
    assert list(mapped["emotion"]) == ["neutral", "neutral", "anger"]
    assert mapped.loc[0, ["valence", "arousal"]].tolist() == [0.0, 0.0]  # neutral's circumplex position
    assert mapped.loc[1, "valence"] == 0.9 and mapped.loc[2, "valence"] == frame.loc[2, "valence"]
    with pytest.raises(SerBenchError, match="turev has no 'fear'; its emotions are anger, calm"):
        apply_label_map(frame, {"fear": "anger"}, "turev")
    with pytest.raises(SerBenchError, match="'serenity' is not an emotion"):
        apply_label_map(frame, {"calm": "serenity"}, "turev")


def test_a_method_that_trains_nothing_gets_one_frozen_setting(registry):
    logreg = resolve(Cell(protocol="fewshot", loss="logreg", source="sim-crema", target="sim-ravdess"), registry)
    siamese = resolve(Cell(protocol="fewshot", loss="bce_pair", source="sim-crema", target="sim-ravdess"), registry)
    assert logreg.protocol_params["frozen"] == 0 and siamese.protocol_params["frozen"] == [0, 1, 2]
    written = resolve(Cell(protocol="fewshot", loss="logreg", source="sim-crema", target="sim-ravdess",
                           protocol_params={"frozen": [0]}), registry)
    assert written.protocol_params["frozen"] == [0]  # already one setting: left as written (same cell id)


# --- end to end on three fabricated corpora ------------------------------------------------------------


def test_loco_with_the_shared_labels_runs_and_records_every_corpus(three_corpora, tmp_path, cache_dir):
    results = tmp_path / "results"
    code = main([*FAST, "--loco", ",".join(three_corpora), "--labels", "shared", "--protocol", "oodt",
                 "--loss", "logreg", "--normalise", "corpus", *corpus_args(three_corpora),
                 "--results", str(results), "--cache-dir", str(cache_dir)])
    assert code == 0
    found = {(r.params.source, r.params.target): r for r in load_results(results)}
    assert set(found) == {("csv:b|csv:c", "csv:a"), ("csv:a|csv:c", "csv:b"), ("csv:a|csv:b", "csv:c")}
    result = found["csv:b|csv:c", "csv:a"]
    assert result.params.labels == ("anger", "happiness", "sadness")
    source = result.data["source"]
    assert source.speakers == 8 and source.clips_used == 2 * 4 * 3 * 2
    assert [p["expression"] for p in source.domain["parts"]] == ["csv:b", "csv:c"]
    assert set(source.label_map) == {"csv:b", "csv:c"}
    assert 0 <= result.summary["uar"] <= 1


def test_a_label_set_a_corpus_lacks_is_refused_before_any_work_unless_mapped(three_corpora, tmp_path, cache_dir,
                                                                            capsys):
    pair = {k: three_corpora[k] for k in ("csv:a", "csv:b")}
    results = tmp_path / "results"
    args = [*FAST, "--source", "csv:b", "--target", "csv:a", "--protocol", "oodt", "--loss", "logreg",
            "--labels", "iemocap4", *corpus_args(pair), "--results", str(results), "--cache-dir", str(tmp_path / "c")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "csv:b has no neutral (its emotions: anger, happiness, sadness, calm)" in err and "--label-map" in err
    assert not list(results.glob("*.json")) and not (tmp_path / "c" / "features").exists()
    assert main([*args, "--label-map", "csv:b.calm=neutral"]) == 0
    (result,) = load_results(results)
    assert result.params.get("label_maps") == {"csv:b": {"calm": "neutral"}}
    assert result.params.labels == ("anger", "happiness", "sadness", "neutral")


def test_corpora_sharing_fewer_than_two_emotions_are_refused_naming_each(tmp_path, capsys):
    corpora = {"csv:x": write_corpus(tmp_path / "x", ["anger", "sadness"], speakers=2, clips=1),
               "csv:y": write_corpus(tmp_path / "y", ["happiness", "sadness"], speakers=2, clips=1)}
    code = main([*FAST, "--source", "csv:x", "--target", "csv:y", "--protocol", "oodt", "--loss", "logreg",
                 "--labels", "shared", *corpus_args(corpora), "--results", str(tmp_path / "r"),
                 "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and "share 1 emotion(s) (sadness)" in err
    assert "csv:x: anger, sadness" in err and "csv:y: happiness, sadness" in err


def test_two_names_for_one_csv_corpus_are_refused_as_source_and_target(three_corpora, tmp_path, capsys):
    csv = three_corpora["csv:a"]
    code = main([*FAST, "--source", "csv:one", "--target", "csv:two", "--protocol", "oodt", "--loss", "logreg",
                 "--labels", "anger,sadness", "--dataset-param", f"csv.path={csv}", "--results", str(tmp_path / "r"),
                 "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and "share 16 audio files" in err  # 4 speakers x 2 emotions x 2 clips


def test_validate_on_source_is_refused_for_a_protocol_that_cannot(three_corpora, tmp_path, capsys):
    code = main([*FAST, "--target", "csv:a", "--protocol", "idt", "--loss", "logreg", "--tune", "1",
                 "--validate-on", "source", *corpus_args(three_corpora), "--results", str(tmp_path / "r")])
    assert code == 2 and "protocol 'idt' validates on target speakers only" in capsys.readouterr().err


@pytest.mark.slow
def test_the_cross_corpus_recipe_tunes_every_method_on_the_source_and_reports(three_corpora, tmp_path, cache_dir):
    out = tmp_path / "cc"
    code = main(["-q", "reproduce", "cross-corpus", "--source", ",".join(three_corpora),
                 "--target", ",".join(three_corpora), "--k", "1,4", "--repeats", "1", "--seed", "0,1",
                 "--tune", "1", "--losses", "bce_pair,ratio_distance", "--baselines", "logreg", "--normalise", "corpus",
                 "--train-param", "epochs=2", "--train-param", "finetune_steps=3", "--executor", "serial",
                 *corpus_args(three_corpora), "--results", str(out), "--cache-dir", str(cache_dir)])
    assert code == 0
    results = load_results(out)
    pairs = {(r.params.source, r.params.target) for r in results}
    assert len(pairs) == 6 + 3  # every ordered pair and leave-one-corpus-out
    fewshot = [r for r in results if r.params.protocol == "fewshot"]
    assert fewshot and all(r.params.tuning["validation_on"] == "source" for r in fewshot)
    assert all(r.params.protocol_params["k"] == [1] for r in fewshot)  # 4 speakers: k = 4 leaves none to test
    assert all(not r.tuning.get("reserved_target_speakers") for r in results)  # tuning saw no target speaker
    board = (out / "LEADERBOARD.md").read_text()
    assert "csv:b ∪ csv:c → csv:a" in board and "Does the ratio distance loss help?" in board
    assert "## Average ranks" in board and (out / "site" / "index.html").is_file()
    paired = json.loads((out / "paired.json").read_text())
    assert {row["group"] for row in paired} >= {"oodt / csv:a → csv:b / corpus", "fewshot / csv:a → csv:b / corpus"}


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.skipif(not (SHARED / "turev-db-16k").is_dir(), reason="needs ../shared/data (the real corpora)")
def test_the_recipe_on_the_real_corpora_shares_three_emotions_and_tests_every_transfer(registry, tmp_path):
    from ser_bench.plugin_api.context import RunContext

    recipe = registry.get("recipes", "cross-corpus")
    ctx = RunContext(data_dirs=[], cache_dir=tmp_path, corpus_paths={
        "ravdess": str(SHARED / "ravdess-16k"), "emodb": str(SHARED / "emodb-16k"),
        "turev": str(SHARED / "turev-db-16k")})
    cells = recipe.cells(registry, list(recipe.default_sources), list(recipe.default_targets), ctx=ctx,
                         **recipe.options)
    assert {c.labels for c in cells} == {("anger", "happiness", "sadness")}
    transfers = {(c.source, c.target) for c in cells}
    assert len(transfers) == 9 and ("emodb|turev", "ravdess") in transfers
    assert {c.loss for c in cells} == set(recipe.options["losses"]) | set(recipe.options["baselines"])
    fewshot = [c for c in cells if c.protocol == "fewshot"]
    assert all(c.protocol_params["k"] == [1, 2, 4] for c in fewshot)  # TurEV-DB's 6 speakers leave 2 to test
    assert all(c.tuning["trials"] == 8 and c.tuning["validation_on"] == "source" for c in fewshot)
    assert len(cells) == 9 * 2 * 12 * 3 * 2  # transfers x protocols x methods x seeds x normalisations
