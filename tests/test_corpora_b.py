"""Six more corpora (JL-Corpus, MESD, ASED, URDU, nEMO, MSP-IMPROV): each loader on a fabricated tree in its
corpus's layout as distributed (folders, names, label files, files that are not audio), the conformance
check, what each clip gives, and every name it cannot read reported."""
from __future__ import annotations

from pathlib import Path

import pytest

from ser_bench.plugin_kit.testing import check_dataset

from .test_described_corpora import bad_files_reported, context, write_tone

JL_DIR = "Raw JL corpus (unchecked and unannotated)/JL(wav+txt)/"
MSP = "MSP-IMPROV-"

# name -> (clip paths, the (speaker, emotion, gender) the clips give, names reported, other files {path: text})
TREES = {
    "jl": ([JL_DIR + n for n in ("male1_angry_5a_1.wav", "female2_happy_10b_2.wav", "female1_sad_1a_1.wav",
                                 "male2_neutral_3b_2.wav", "male1_excited_5a_1.wav", "female1_anxious_2a_1.wav",
                                 "male2_apologetic_4b_1.wav", "female2_encouraging_7a_2.wav")],
           [("male1", "anger", "male"), ("female2", "happiness", "female"), ("female1", "sadness", "female"),
            ("male2", "neutral", "male")],
           [JL_DIR + "male3_angry_5a_1.wav", JL_DIR + "male1_bored_5a_1.wav"],
           {JL_DIR + "male1_angry_5a_1.txt": "transcript"}),
    "mesd": (["Anger_C_A_abajo.wav", "Disgust_F_B_adiós.wav", "Fear_M_A_campana.wav", "Happiness_F_A_abajo.wav",
              "Neutral_M_B_niño.wav", "Sadness_C_B_mesa.wav"],
             [("C", "anger", None), ("F", "disgust", "female"), ("M", "fear", "male"), ("F", "happiness", "female"),
              ("M", "neutral", "male"), ("C", "sadness", None)],
             ["Anger_X_A_abajo.wav", "Contempt_F_A_abajo.wav", "Anger_F_abajo.wav"],
             {"README.txt": "MESD"}),
    "ased": (["01Neutral/n1-01-01-01-01.wav", "02Fearful/f2-03-02-02-02.wav", "03Happy/h3-05-01-01-29.wav",
              "04Sad/S4-04-02-01-29.wav", "05Angry/a5-02-01-02-64.wav"],
             [("01", "neutral", "female"), ("02", "fear", "male"), ("29", "happiness", "female"),
              ("29", "sadness", "female"), ("64", "anger", "male")],
             ["04Sad/x4-04-02-01-29.wav", "04Sad/s4-04-02-03-29.wav", "04Sad/s4_04_02_01_29.wav"],
             {"README.md": "ASED"}),
    "urdu": (["Angry/SM1_F10_A010.wav", "Happy/SF3_F2_H002.wav", "Neutral/SM27_F1_N01.wav", "Sad/SF1_F5_S05.wav"],
             [("SM1", "anger", "male"), ("SF3", "happiness", "female"), ("SM27", "neutral", "male"),
              ("SF1", "sadness", "female")],
             ["Angry/SX1_F10_A010.wav", "Sad/SM1_F10_D010.wav", "Sad/SM1-F10-S010.wav"],
             {"README.md": "URDU"}),
    "nemo": (["samples/EB0_anger_1.wav", "samples/KS0_surprised_64.wav", "samples/MK0_fear_3.wav",
              "samples/WR0_happiness_86.wav", "samples/IC0_sadness_21.wav", "samples/TP0_neutral_58.wav"],
             [("EB0", "anger", "female"), ("KS0", "surprise", "male"), ("MK0", "fear", "female"),
              ("WR0", "happiness", "male"), ("IC0", "sadness", "female"), ("TP0", "neutral", "male")],
             ["samples/EB0_contempt_1.wav", "samples/EB0-anger-1.wav"],
             {"data.tsv": "file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage\n"
                          "EB0_anger_1.wav\tanger\tLubię czytać.\tlubię czytać\t        EB0\tfemale\t27\n"}),
    "msp-improv": ([f"session1/S01A/P/{MSP}S01A-F01-P-FM01.wav", f"session1/S01A/R/{MSP}S01A-M01-R-MF02.wav",
                    f"session3/S07H/S/{MSP}S07H-F03-S-FM05.wav", f"session6/S12S/T/{MSP}S12S-M06-T-MF11.wav",
                    f"session2/S03N/P/{MSP}S03N-F02-P-FM01.wav", f"session2/S03N/P/{MSP}S03N-M02-P-MF01.wav"],
                   [("F01", "anger", "female"), ("M01", "neutral", "male"), ("F03", "happiness", "female"),
                    ("M06", "sadness", "male")],
                   [f"session1/S01A/P/{MSP}S01A-F01-P-FM99.wav", "session1/S01A/P/MSP-IMPROV-S01A.wav",
                    f"session5/S09A/P/{MSP}S09A-F05-P-FM01.wav"],
                   {"Evaluation.txt": "\n".join([
                       "UTD-IMPROV-S01A-F01-P-FM01.avi; A; A:4.0000; V:1.5000; D:4.2000 ; N:3.6000;",
                       "mturk_17; Angry; ; ",
                       "mturk_22; Angry; Frustrated;",
                       "",
                       "UTD-IMPROV-S01A-M01-R-MF02.avi; N; A:2.0000; V:3.0000; D:3.0000 ; N:4.0000;",
                       "UTD-IMPROV-S07H-F03-S-FM05.avi; H; A:3.5000; V:4.5000; D:3.0000 ; N:4.0000;",
                       "UTD-IMPROV-S12S-M06-T-MF11.avi; S; A:1.5000; V:1.5000; D:2.0000 ; N:4.0000;",
                       "UTD-IMPROV-S03N-F02-P-FM01.avi; O; A:NaN; V:NaN; D:NaN ; N:NaN;",
                       "UTD-IMPROV-S03N-M02-P-MF01.avi; X; A:3.0000; V:3.0000; D:3.0000 ; N:3.0000;",
                       "UTD-IMPROV-S09A-F05-P-FM01.avi; Q; A:3.0000; V:3.0000; D:3.0000 ; N:3.0000;",
                   ]),
                    "session1/S01A/P/MSP-IMPROV-S01A-F01-P-FM01.avi": "not listed: video"}),
}


def build(root: Path, paths, others) -> None:
    for i, rel in enumerate(paths):
        write_tone(root / rel, i)
    for rel, text in others.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("name", sorted(TREES))
def test_each_corpus_loads_its_layout_as_distributed_and_passes_conformance(registry, tmp_path, name):
    files, expected, _, others = TREES[name]
    root = tmp_path / name
    build(root, files, others)
    ctx = context(tmp_path, **{name: root})
    manifest = registry.get("datasets", name).load(ctx)
    genders = manifest["gender"] if "gender" in manifest else [None] * len(manifest)
    got = sorted(zip(manifest["speaker"], manifest["emotion"], [g if isinstance(g, str) else None for g in genders]),
                 key=str)
    assert got == sorted(expected, key=str)
    assert {"arousal", "valence", "language", "corpus"} <= set(manifest.columns)
    assert all(Path(p).suffix == ".wav" for p in manifest["path"])
    check_dataset(name, ctx, registry)


@pytest.mark.parametrize("name", sorted(TREES))
def test_each_corpus_names_every_clip_it_cannot_read(registry, tmp_path, name):
    files, _, bad, others = TREES[name]
    root = tmp_path / name
    build(root, [*files, *bad], others)
    _, reported = bad_files_reported(registry, tmp_path, name, root)
    assert sorted(p for p, _ in reported) == sorted(bad)
    assert all(reason for _, reason in reported)


def test_msp_improv_says_where_its_labels_are_missing(registry, tmp_path):
    from ser_bench.errors import SerBenchError

    root = tmp_path / "MSP-IMPROV"
    write_tone(root / "session1/S01A/P/MSP-IMPROV-S01A-F01-P-FM01.wav")
    with pytest.raises(SerBenchError, match="no Evaluation.txt under"):
        registry.get("datasets", "msp-improv").load(context(tmp_path, **{"msp-improv": root}))


def test_msp_improv_finds_its_evaluation_file_below_the_corpus_folder(registry, tmp_path):
    root = tmp_path / "MSP-IMPROV"
    write_tone(root / "Audio/session1/S01A/P/MSP-IMPROV-S01A-F01-P-FM01.wav")
    (root / "Evaluation").mkdir()
    (root / "Evaluation/Evaluation.txt").write_text(
        "UTD-IMPROV-S01A-F01-P-FM01.avi; H; A:3.0000; V:4.0000; D:3.0000 ; N:4.0000;\n")
    manifest = registry.get("datasets", "msp-improv").load(context(tmp_path, **{"msp-improv": root}))
    assert list(manifest["emotion"]) == ["happiness"]
    assert list(manifest["recording"]) == ["P"] and list(manifest["sentence"]) == ["S01"]
