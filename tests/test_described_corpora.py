"""Corpora described in one record (ser_bench.data.described): each loader on a fabricated tree in its
corpus's documented layout, the conformance check, and the names it must refuse or leave out."""
from __future__ import annotations

from pathlib import Path

import pytest

from ser_bench.data.described import CorpusDescription, NameParser
from ser_bench.plugin_api.context import RunContext
from ser_bench.plugin_kit.testing import check_dataset

from .test_loaders import context, write_tone  # noqa: F401  (the corpora tests import them from here)


# name -> (clip paths as distributed, the (speaker, emotion, gender) each gives, names refused)
TREES = {
    "emovo": (["f1/dis-f1-b1.wav", "f1/gio-f1-l2.wav", "m3/rab-m3-n5.wav", "m2/tri-m2-b3.wav"],
              [("f1", "disgust", "female"), ("f1", "happiness", "female"), ("m2", "sadness", "male"),
               ("m3", "anger", "male")],
              ["f1/xyz-f1-b1.wav", "f1/dis_f1_b1.wav"]),
    # TESS moved onto the description: names in either case, "ps" or spelt out, the word kept
    "tess": (["OAF_angry/OAF_back_angry.wav", "YAF_pleasant_surprised/YAF_bite_ps.wav",
              "yaf_sad/yaf_Dog_sad.wav", "OAF_Pleasant_surprise/OAF_date_pleasant_surprise.wav"],
             [("OAF", "anger", "female"), ("YAF", "surprise", "female"), ("YAF", "sadness", "female"),
              ("OAF", "surprise", "female")],
             ["OAF_angry/MAF_back_angry.wav", "OAF_angry/OAF_back_furious.wav"]),
}


def bad_files_reported(registry, tmp_path, name: str, root: Path):
    """``(manifest, [(path below root, reason), ...])``: what loading ``name`` from ``root`` with
    ``--skip-bad-files`` reports as it goes."""
    reported = []
    ctx = RunContext(data_dirs=[tmp_path / "nowhere"], cache_dir=tmp_path / "cache", workers=1,
                     corpus_paths={name: str(root)}, skip_bad_files=True)
    ctx.report_bad_file = lambda path, reason: reported.append((Path(path).relative_to(root).as_posix(), reason))
    return registry.get("datasets", name).load(ctx), reported


@pytest.mark.parametrize("name", sorted(TREES))
def test_a_described_corpus_loads_its_documented_layout_and_passes_conformance(registry, tmp_path, name):
    files, expected, _ = TREES[name]
    root = tmp_path / name
    for i, rel in enumerate(files):
        write_tone(root / rel, i)
    (root / "Documents").mkdir()
    (root / "Documents" / "readme.txt").write_text("no audio here")
    ctx = context(tmp_path, **{name: root})
    manifest = registry.get("datasets", name).load(ctx)
    got = sorted(zip(manifest["speaker"], manifest["emotion"], manifest.get("gender", [None] * len(manifest))))
    assert got == sorted(expected)
    assert {"arousal", "valence", "language", "corpus"} <= set(manifest.columns)
    check_dataset(name, ctx, registry)


@pytest.mark.parametrize("name", sorted(TREES))
def test_a_described_corpus_names_each_file_it_cannot_read(registry, tmp_path, name):
    files, _, bad = TREES[name]
    root = tmp_path / name
    for i, rel in enumerate([*files, *bad]):
        write_tone(root / rel, i)
    _, reported = bad_files_reported(registry, tmp_path, name, root)
    assert sorted(p for p, _ in reported) == sorted(bad)
    assert all(reason for _, reason in reported)


def test_a_description_is_checked_when_it_is_written():
    base = dict(name="x", language="en", summary="x", example="a-b.wav", emotions={"a": "anger"})
    with pytest.raises(ValueError, match="no named group speaker"):
        CorpusDescription(pattern=r"(?P<emotion>\w)", **base)
    with pytest.raises(ValueError, match="'joy', which is not in the common vocabulary"):
        CorpusDescription(pattern=r"(?P<speaker>\w)-(?P<emotion>\w)", **{**base, "emotions": {"j": "joy"}})
    with pytest.raises(ValueError, match="neither female nor male"):
        CorpusDescription(pattern=r"(?P<speaker>\w)-(?P<emotion>\w)", speaker_sex={"s": "f"}, **base)


def test_the_name_parser_reads_groups_codes_and_the_quirk_hook(tmp_path):
    def quirk(fields, path):
        if fields["sentence"] == "skip":
            return None
        return {**fields, "speaker": fields["speaker"].upper()}

    d = CorpusDescription(
        name="toy", language="en", summary="toy", example="s1/ANG_s1_hello.wav",
        pattern=r"(?P<folder>[^/]+)/(?P<emotion>[A-Z]+)_(?P<speaker>s\d)_(?P<sentence>\w+)",
        emotions={"ang": "anger", "oth": None}, speaker_sex={"s1": "female"}, fields=quirk)
    parse = NameParser(d, tmp_path)
    assert parse(tmp_path / "s1" / "ANG_s1_hello.flac") == {"speaker": "S1", "emotion": "anger", "gender": "female",
                                                           "folder": "s1", "sentence": "hello"}
    assert parse(tmp_path / "s1" / "OTH_s1_hello.wav") is None  # a class outside the vocabulary, left out
    assert parse(tmp_path / "s1" / "ANG_s1_skip.wav") is None
    with pytest.raises(ValueError, match=r"unknown toy emotion code 'sad' \(known: ang, oth\)"):
        parse(tmp_path / "s1" / "SAD_s1_hello.wav")
    with pytest.raises(ValueError, match=r"not a toy clip name \(expected e.g. s1/ANG_s1_hello.wav\)"):
        parse(tmp_path / "s1" / "hello.wav")
