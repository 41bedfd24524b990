"""Corpora that annotate dimensions (IEMOCAP, MSP-Podcast): their label files parsed, the annotated values
rescaled and kept, conformance, the names refused; and a dimensional run end to end on an IEMOCAP tree
whose CCC and Spearman reach the markdown board."""
from __future__ import annotations

from pathlib import Path

import pytest

from ser_bench.data.labels import CIRCUMPLEX
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.context import RunContext
from ser_bench.plugin_kit.testing import check_dataset

from .test_described_corpora import context, write_tone

# code -> [valence, activation, dominance] on IEMOCAP's 1-5 scale
CODES = {"ang": (1.5, 4.0, 4.0), "hap": (4.0, 3.5, 3.0), "exc": (4.5, 4.5, 3.5), "sad": (1.5, 1.5, 2.0),
         "neu": (3.0, 2.5, 2.5), "fru": (2.0, 3.5, 3.5), "xxx": (2.5, 3.0, 3.0)}
HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"


def write_iemocap(root: Path, sessions=(1, 2)) -> dict:
    """An IEMOCAP_full_release tree: per session an improvised and a scripted dialog, each speaker one turn
    of every code; returns ``{utterance: (code, v, a, d)}``."""
    turns, seed = {}, 0
    for s in sessions:
        for dialog in (f"Ses0{s}F_impro01", f"Ses0{s}F_script01_1"):
            lines = [HEADER, ""]
            for sex in "FM":
                for i, (code, (v, a, d)) in enumerate(CODES.items()):
                    name = f"{dialog}_{sex}{i:03d}"
                    jitter = 0.25 * (seed % 3)
                    v, a = v + jitter, a - jitter
                    lines += [f"[{seed:.4f} - {seed + 1.5:.4f}]\t{name}\t{code}\t[{v:.4f}, {a:.4f}, {d:.4f}]",
                              "C-E2:\tNeutral;\t()", "A-E3:\tval 3; act 2; dom  2;\t()", ""]
                    write_tone(root / f"Session{s}" / "sentences" / "wav" / dialog / f"{name}.wav", seed)
                    turns[name] = (code, v, a, d)
                    seed += 1
            labels = root / f"Session{s}" / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
            labels.parent.mkdir(parents=True, exist_ok=True)
            labels.write_text("\n".join(lines) + "\n")
        write_tone(root / f"Session{s}" / "dialog" / "wav" / f"Ses0{s}F_impro01.wav")  # a whole dialog: not read
    (root / "Session1" / "dialog" / "EmoEvaluation" / "Categorical").mkdir()
    return turns


def test_the_emoevaluation_parser_reads_turn_lines_and_skips_the_rest():
    from plugins.datasets.iemocap import parse_evaluation

    text = "\n".join([HEADER, "", "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]",
                      "C-E2:\tNeutral;\t()", "A-F1:\tval 3; act 2; dom  2;\t()", "",
                      "[10.0 - 12.5]\tSes01F_script01_1_M012\tExc\t[4.0000, 3.5000, 1.0000]"])
    assert parse_evaluation(text) == {"Ses01F_impro01_F000": ("neu", 2.5, 2.5, 2.5),
                                      "Ses01F_script01_1_M012": ("exc", 4.0, 3.5, 1.0)}
    with pytest.raises(SerBenchError, match="Ses01.txt, line 2: not an EmoEvaluation turn line"):
        parse_evaluation("ok\n[6.29 - 8.2]\tSes01F_impro01_F000\tneu\n", "Ses01.txt")


def test_iemocap_names_categories_and_rescaling():
    from plugins.datasets.iemocap import labelled, rescale, utterance_fields

    assert utterance_fields("Ses01F_impro01_M003") == {
        "speaker": "01M", "gender": "male", "session": 1, "sentence": "impro01", "dialog": "Ses01F_impro01",
        "kind": "improvised"}
    scripted = utterance_fields("Ses05M_script01_1b_F003")
    assert (scripted["speaker"], scripted["sentence"], scripted["dialog"], scripted["kind"]) == (
        "05F", "script01", "Ses05M_script01_1b", "scripted")
    assert utterance_fields("Ses03M_impro05b_M000")["sentence"] == "impro05"
    with pytest.raises(ValueError, match="not an IEMOCAP utterance name"):
        utterance_fields("Ses01F_impro01")
    assert labelled("exc", True) == labelled("hap", False) == "happiness"
    assert labelled("exc", False) is None
    assert [labelled(c, True) for c in ("fru", "xxx", "oth")] == [None] * 3
    assert [labelled(c, True) for c in ("ang", "sad", "neu", "sur", "fea", "dis")] == [
        "anger", "sadness", "neutral", "surprise", "fear", "disgust"]
    with pytest.raises(ValueError, match="unknown IEMOCAP category 'joy'"):
        labelled("joy", True)
    assert [rescale(x) for x in (1.0, 3.0, 5.0, 4.5, 5.5)] == [-1.0, 0.0, 1.0, 0.75, 1.0]


@pytest.mark.parametrize("merge", [True, False])
def test_the_iemocap_loader_keeps_the_annotated_dimensions(registry, tmp_path, merge):
    turns = write_iemocap(tmp_path / "IEMOCAP_full_release")
    ctx = context(tmp_path, iemocap=tmp_path)  # the folder above IEMOCAP_full_release is found too
    manifest = registry.get("datasets", "iemocap").load(ctx, merge_excited=merge)
    kept = {"ang", "hap", "sad", "neu", *(["exc"] if merge else [])}
    assert sorted(Path(p).stem for p in manifest["path"]) == sorted(n for n, t in turns.items() if t[0] in kept)
    assert set(manifest["speaker"]) == {"01F", "01M", "02F", "02M"}
    assert set(manifest["kind"]) == {"scripted", "improvised"} and set(manifest["sentence"]) == {"impro01", "script01"}
    assert (manifest["gender"] == manifest["speaker"].str[-1].map({"F": "female", "M": "male"})).all()
    for row in manifest.itertuples():
        code, v, a, d = turns[Path(row.path).stem]
        assert (row.valence, row.arousal, row.dominance) == pytest.approx(((v - 3) / 2, (a - 3) / 2, (d - 3) / 2))
        assert row.emotion == {"exc": "happiness", "hap": "happiness", "ang": "anger", "sad": "sadness",
                               "neu": "neutral"}[code]
    assert (manifest["category"] == "exc").sum() == (8 if merge else 0)
    check_dataset("iemocap", ctx, registry, merge_excited=merge)


def test_the_iemocap_loader_names_the_clips_it_cannot_label(registry, tmp_path):
    root = tmp_path / "IEMOCAP_full_release"
    write_iemocap(root, sessions=(1,))
    bad = ["Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F099.wav",  # no EmoEvaluation line
           "Session1/sentences/wav/Ses01F_impro01/notes.wav"]  # not an utterance name
    for rel in bad:
        write_tone(root / rel)
    reported = []
    ctx = RunContext(data_dirs=[tmp_path / "nowhere"], cache_dir=tmp_path / "cache", workers=1,
                     corpus_paths={"iemocap": str(root)}, skip_bad_files=True)
    ctx.report_bad_file = lambda path, reason: reported.append((Path(path).relative_to(root).as_posix(), reason))
    manifest = registry.get("datasets", "iemocap").load(ctx)
    assert sorted(p for p, _ in reported) == sorted(bad) and len(manifest) == 20
    assert "no line for Ses01F_impro01_F099 in Session1/dialog/EmoEvaluation/Ses01F_impro01.txt" in dict(reported)[bad[0]]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SerBenchError, match="no IEMOCAP labels under"):
        registry.get("datasets", "iemocap").load(context(tmp_path, iemocap=tmp_path / "empty"))


MSP_ROWS = [  # FileName, EmoClass, EmoAct, EmoVal, EmoDom, SpkrID, Gender, Split_Set
    ("MSP-PODCAST_0001_0001.wav", "A", "6.2", "2.0", "5.8", "127", "Male", "Train"),
    ("MSP-PODCAST_0001_0002.wav", "H", "4.6", "6.4", "4.0", "127", "Male", "Train"),
    ("MSP-PODCAST_0002_0001.wav", "S", "2.2", "1.6", "3.0", "310", "Female", "Development"),
    ("MSP-PODCAST_0002_0002.wav", "N", "4.0", "4.0", "4.0", "310", "Female", "Test1"),
    ("MSP-PODCAST_0003_0001.wav", "U", "5.0", "5.2", "4.4", "Unknown", "Unknown", "Train"),
    ("MSP-PODCAST_0003_0002.wav", "A", "7.0", "1.0", "7.0", "Unknown", "Male", "Test2"),
    ("MSP-PODCAST_0004_0001.wav", "C", "4.4", "3.0", "5.0", "411", "Female", "Test3"),
    ("MSP-PODCAST_0004_0002.wav", "X", "4.0", "4.0", "4.0", "411", "Female", "Test1"),
    ("MSP-PODCAST_0004_0003.wav", "O", "4.0", "4.0", "4.0", "411", "Female", "Train"),
    ("MSP-PODCAST_0004_0004.wav", "F", "5.8", "2.2", "2.6", "411", "Female", "Test2"),
]


def write_msp(root: Path, rows=MSP_ROWS, skip_audio=()) -> None:
    labels = root / "Labels" / "labels_consensus.csv"
    labels.parent.mkdir(parents=True, exist_ok=True)
    header = "FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"
    labels.write_text("\n".join([header, *(",".join(r) for r in rows)]) + "\n")
    for i, row in enumerate(rows):
        if row[0] not in skip_audio:
            write_tone(root / "Audios" / row[0], i)
    write_tone(root / "Audios" / "MSP-PODCAST_9999_0001.wav")  # unlabelled: not read


def test_msp_podcast_labels_speakers_partitions_and_rescaling(registry, tmp_path):
    root = tmp_path / "MSP-PODCAST"
    write_msp(root)
    ctx = context(tmp_path, **{"msp-podcast": root})
    ctx.on_warning = lambda message: None
    manifest = registry.get("datasets", "msp-podcast").load(ctx)
    got = {Path(p).name: (s, e, part) for p, s, e, part in
           zip(manifest["path"], manifest["speaker"], manifest["emotion"], manifest["partition"])}
    assert got == {"MSP-PODCAST_0001_0001.wav": ("127", "anger", "Train"),
                   "MSP-PODCAST_0001_0002.wav": ("127", "happiness", "Train"),
                   "MSP-PODCAST_0002_0001.wav": ("310", "sadness", "Development"),
                   "MSP-PODCAST_0002_0002.wav": ("310", "neutral", "Test1"),
                   "MSP-PODCAST_0004_0004.wav": ("411", "fear", "Test2")}
    anger = manifest[manifest["emotion"] == "anger"].iloc[0]
    assert (anger.arousal, anger.valence, anger.dominance) == pytest.approx(((6.2 - 4) / 3, (2.0 - 4) / 3,
                                                                             (5.8 - 4) / 3))
    assert set(manifest["gender"]) == {"male", "female"}
    assert len(ctx.warnings) == 1 and "2 segment(s)" in ctx.warnings[0] and "SpkrID Unknown" in ctx.warnings[0]
    check_dataset("msp-podcast", ctx, registry)


def test_msp_podcast_refuses_bad_labels_and_names_missing_audio(registry, tmp_path):
    root = tmp_path / "MSP-PODCAST"
    write_msp(root, skip_audio=("MSP-PODCAST_0002_0001.wav",))
    reported = []
    ctx = RunContext(data_dirs=[tmp_path / "nowhere"], cache_dir=tmp_path / "cache", workers=1,
                     corpus_paths={"msp-podcast": str(root)}, skip_bad_files=True, on_warning=lambda m: None)
    ctx.report_bad_file = lambda path, reason: reported.append(Path(path).name)
    manifest = registry.get("datasets", "msp-podcast").load(ctx)
    assert reported == ["MSP-PODCAST_0002_0001.wav"] and len(manifest) == 4
    for row, match in [(("MSP-PODCAST_0001_0001.wav", "Q", "4", "4", "4", "1", "Male", "Train"), "unknown EmoClass 'Q'"),
                       (("MSP-PODCAST_0001_0001.wav", "A", "high", "4", "4", "1", "Male", "Train"),
                        "row 2: EmoAct is 'high', not a rating on 1-7")]:
        bad = tmp_path / f"bad-{row[1]}"
        write_msp(bad, rows=[row])
        with pytest.raises(SerBenchError, match=match):
            registry.get("datasets", "msp-podcast").load(context(tmp_path, **{"msp-podcast": bad}))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SerBenchError, match="no MSP-Podcast labels at"):
        registry.get("datasets", "msp-podcast").load(context(tmp_path, **{"msp-podcast": tmp_path / "empty"}))


def test_a_dimensional_run_on_iemocap_writes_ccc_to_the_board(registry, tmp_path, monkeypatch):
    from ser_bench.reporting.continuous import continuous_section
    from ser_bench.results.store import load_results
    from ser_bench.running import evaluation
    from ser_bench.running.grid import Grid, expand
    from ser_bench.running.runner import run

    root = tmp_path / "IEMOCAP_full_release"
    turns = write_iemocap(root)
    seen = []  # the continuous targets the probe is scored on, per split

    def spy(model, x_support, x_test, support_manifest, test_manifest, targets):
        seen.append(test_manifest[["path", *targets]].copy())
        return real(model, x_support, x_test, support_manifest, test_manifest, targets)

    real = evaluation.continuous_metrics
    monkeypatch.setattr(evaluation, "continuous_metrics", spy)
    base = {"training": {"epochs": 2, "batch_size": 64, "finetune_steps": 5}, "labels": "iemocap4",
            "loss_params": {"continuous_slope": {"dimension": "both"}}}
    cells = expand(Grid(protocols=["idt"], losses=["continuous_slope"], targets=["iemocap"], base=base), registry)
    ctx = context(tmp_path, iemocap=root)
    report = run(cells, registry, ctx, tmp_path / "results", executor="serial")
    assert not report.failed, report.failed
    [result] = load_results(tmp_path / "results")
    assert result.params.dataset_params["iemocap"] == {"merge_excited": True}
    assert len(result.splits) == 4
    for split in result.splits:
        continuous = split.metrics.extra["continuous"]
        assert set(continuous) == {"arousal", "valence"}
        assert all(set(m) == {"ccc", "spearman"} and -1 <= m["ccc"] <= 1 for m in continuous.values())
    # scored on the annotated values, rescaled (x - 3) / 2, not on the circumplex's
    assert len(seen) == 4
    for frame in seen:
        for row in frame.itertuples():
            code, v, a, _ = turns[Path(row.path).stem]
            assert (row.arousal, row.valence) == pytest.approx(((a - 3) / 2, (v - 3) / 2))
    anger = [r for f in seen for r in f.itertuples() if turns[Path(r.path).stem][0] == "ang"]
    assert {r.arousal for r in anger} != {CIRCUMPLEX["anger"][1]}
    # The section the markdown board gains for results with continuous metrics (not yet wired into
    # to_markdown: two committed loss-zoo boards hold such results and would change).
    section = "\n".join(continuous_section(load_results(tmp_path / "results")))
    assert section.startswith("## Continuous targets: CCC and Spearman")
    assert "pooled over that split's whole test set" in section
    assert "| method | source → target | arousal CCC | arousal Spearman | valence CCC | valence Spearman | n |" in section
    row = next(line for line in section.splitlines() if line.startswith("| idt · continuous_slope"))
    assert "n = 4 held-out speakers" in row and " ± " in row
