"""CASIA, ESD, ShEMO, CaFE, AESDD and SUBESCO: each loader on a fabricated tree in its corpus's documented
layout (folder depth, quirks, a file that is no audio), the conformance check, and each bad name reported."""
from __future__ import annotations

from pathlib import Path

import pytest

from ser_bench.plugin_kit.testing import check_dataset

from .test_described_corpora import bad_files_reported, context, write_tone

# name -> (clip paths as distributed, the (speaker, emotion, gender[, language]) each gives, bad names)
TREES = {
    "casia": (["CASIA database/liuchanhg/angry/201.wav", "CASIA database/wangzhe/happy/215.wav",
               "CASIA database/ZhaoZuoxiang/surprise/250.wav", "CASIA database/zhaoquanyin/fear/230.wav"],
              [("liuchanhg", "anger", None), ("wangzhe", "happiness", None), ("ZhaoZuoxiang", "surprise", None),
               ("zhaoquanyin", "fear", None)],
              ["CASIA database/liuchanhg/bored/201.wav", "CASIA database/someone/angry/201.wav"]),
    "esd": (["0001/Angry/train/0001_000351.wav", "0007/Sad/evaluation/0007_001051.wav",
             "0011/Happy/test/0011_000701.wav", "0015/Surprise/0015_001401.wav", "0020/Neutral/0020_000001.wav"],
            [("0001", "anger", "female", "zh"), ("0007", "sadness", "female", "zh"),
             ("0011", "happiness", "male", "en"), ("0015", "surprise", "female", "en"),
             ("0020", "neutral", "male", "en")],
            ["0001/Angry/0002_000351.wav", "0021/Angry/0021_000351.wav", "0003/Bored/0003_000351.wav"]),
    "shemo": (["female/F01A01.wav", "female/F12W03.wav", "male/M01N11.wav", "male/M56F02.wav", "male/M03H07.wav"],
              [("F01", "anger", "female"), ("F12", "surprise", "female"), ("M01", "neutral", "male"),
               ("M56", "fear", "male"), ("M03", "happiness", "male")],
              ["male/M01X01.wav", "female/F1A01.wav"]),
    "cafe": (["CaFE_48k/Colère/Faible/01-C-1-1.wav", "CaFE_48k/Joie/Fort/02-J-2-6.wav",
              "CaFE_48k/Neutre/03-N-4.wav", "CaFE_48k/Dégoût/Fort/12-D-2-01.wav",
              "CaFE_48k/Tristesse/Faible/11-T-1-3.wav"],
             [("01", "anger", "male"), ("02", "happiness", "female"), ("03", "neutral", "male"),
              ("12", "disgust", "female"), ("11", "sadness", "male")],
             ["CaFE_48k/Colère/Faible/01-X-1-1.wav", "CaFE_48k/Colère/Faible/01_C_1_1.wav"]),
    "aesdd": (["anger/a01 (1).wav", "disgust/d12 (3).wav", "fear/f18 (5).wav", "fear/f18 (5)b.wav",
               "happiness/h20 (2).wav", "sadness/s05 (4).wav"],
              [("1", "anger", None), ("3", "disgust", None), ("5", "fear", None), ("5", "fear", None),
               ("2", "happiness", None), ("4", "sadness", None)],
              ["anger/x01 (1).wav", "anger/a01.wav"]),
    "subesco": (["SUBESCO/F_01_OISHI_S_1_ANGRY_1.wav", "SUBESCO/M_03_TITU_S_10_SURPRISE_5.wav",
                 "SUBESCO/F_10_MITU_S_4_NEUTRAL_2.wav", "SUBESCO/M_01_RAJU_S_7_DISGUST_3.wav"],
                [("F_01", "anger", "female"), ("M_03", "surprise", "male"), ("F_10", "neutral", "female"),
                 ("M_01", "disgust", "male")],
                ["SUBESCO/F_01_OISHI_S_1_BORED_1.wav", "SUBESCO/X_01_OISHI_S_1_ANGRY_1.wav"]),
}


def build(root: Path, paths) -> None:
    for i, rel in enumerate(paths):
        write_tone(root / rel, i)
    (root / "readme.txt").write_text("no audio here")


@pytest.mark.parametrize("name", sorted(TREES))
def test_a_corpus_loads_its_documented_layout_and_passes_conformance(registry, tmp_path, name):
    files, expected, _ = TREES[name]
    root = tmp_path / name
    build(root, files)
    ctx = context(tmp_path, **{name: root})
    manifest = registry.get("datasets", name).load(ctx)
    gender = manifest["gender"] if "gender" in manifest else [None] * len(manifest)
    columns = [manifest["speaker"], manifest["emotion"], gender]
    if name == "esd":
        columns.append(manifest["language"])
    got = sorted(zip(*columns), key=str)
    assert got == sorted(expected, key=str)
    assert {"arousal", "valence", "language", "corpus"} <= set(manifest.columns)
    check_dataset(name, ctx, registry)


def test_esd_keeps_its_transcript_files_out_and_cafe_its_intensities(registry, tmp_path):
    root = tmp_path / "esd"
    build(root, TREES["esd"][0])
    (root / "0001" / "0001.txt").write_text("0001_000351\t...\t生气\n", encoding="utf-8")
    manifest = registry.get("datasets", "esd").load(context(tmp_path, esd=root))
    assert len(manifest) == len(TREES["esd"][0])
    cafe = tmp_path / "cafe"
    build(cafe, TREES["cafe"][0])
    manifest = registry.get("datasets", "cafe").load(context(tmp_path, cafe=cafe)).set_index("speaker")
    assert manifest.loc["01", "intensity"] == "low" and manifest.loc["02", "intensity"] == "strong"
    assert manifest.loc["03", "intensity"] != manifest.loc["03", "intensity"]  # neutral: none (NaN)


@pytest.mark.parametrize("name", sorted(TREES))
def test_a_corpus_names_each_file_it_cannot_read(registry, tmp_path, name):
    files, _, bad = TREES[name]
    root = tmp_path / name
    build(root, [*files, *bad])
    _, reported = bad_files_reported(registry, tmp_path, name, root)
    assert sorted(p for p, _ in reported) == sorted(bad)
    assert all(reason for _, reason in reported)
