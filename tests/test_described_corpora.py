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
    # SAVEE and EmoDB moved onto the description, their manifests unchanged: a speaker folder or prefix
    "savee": (["AudioData/DC/a01.wav", "AudioData/JE/sa02.wav", "KL_su11.wav", "AudioData/JK/JK_n30.wav"],
              [("DC", "anger", "male"), ("JE", "sadness", "male"), ("KL", "surprise", "male"),
               ("JK", "neutral", "male")],
              ["AudioData/XX/a01.wav", "AudioData/DC/A01.wav", "AudioData/DC/z01.wav", "AudioData/DC/a1.wav"]),
    "emodb": (["wav/03a01Fa.wav", "wav/08b02Lb.wav", "wav/16a05Tc.wav"],
              [("03", "happiness", "male"), ("08", "boredom", "female"), ("16", "sadness", "female")],
              ["wav/03a01Xa.wav", "wav/03a01fa.wav", "wav/3a01Fa.wav"]),
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


def test_savee_and_emodb_fields_keep_their_loaders_columns_and_order(tmp_path):
    """The manifests of the loaders these descriptions replaced, column for column (their hashes unchanged)."""
    from ser_bench_plugins.datasets.emodb import EMODB
    from ser_bench_plugins.datasets.savee import SAVEE

    savee = NameParser(SAVEE, tmp_path)
    for rel, speaker in [("AudioData/DC/sa03.wav", "DC"), ("DC_sa03.flac", "DC"), ("AudioData/JE/DC_sa03.wav", "DC")]:
        fields = savee(tmp_path / rel)
        assert list(fields.items()) == [("speaker", speaker), ("emotion", "sadness"), ("sentence", "sa03"),
                                        ("gender", "male")], rel
    fields = NameParser(EMODB, tmp_path)(tmp_path / "wav" / "03a01Fa.flac")
    assert list(fields.items()) == [("speaker", "03"), ("sentence", "a01"), ("emotion", "happiness"),
                                    ("gender", "male")]


def test_messages_name_a_corpus_by_its_title_and_its_codes_as_written(tmp_path):
    d = CorpusDescription(name="berlin", title="EmoDB", language="de", summary="x", example="03W.wav",
                          pattern=r"(?P<speaker>\d\d)(?P<emotion>[A-Z])", emotions={"W": "anger"}, case_sensitive=True)
    parse = NameParser(d, tmp_path)
    assert parse(tmp_path / "03W.wav") == {"speaker": "03", "emotion": "anger"}
    with pytest.raises(ValueError, match=r"^unknown EmoDB emotion code 'X' \(known: W\)$"):
        parse(tmp_path / "03X.wav")
    with pytest.raises(ValueError, match=r"^not an EmoDB clip name \(expected e.g. 03W.wav\)$"):
        parse(tmp_path / "03w.wav")
