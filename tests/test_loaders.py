"""Real-corpus loaders on generated trees that follow each corpus's real naming, and bad input."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_bench.plugin_api.context import RunContext
from ser_bench.errors import SerBenchError
from ser_bench.data.corpus import SOUNDFILE_SUFFIXES
from ser_bench.data.labels import CIRCUMPLEX, add_dimensions

from .conftest import SHARED_DATA

TONE = (0.1 * np.sin(2 * np.pi * 220 * np.arange(8000) / 16000)).astype(np.float32)


def write_tone(path: Path, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), TONE * (1 + 0.01 * seed), 16000)


def context(tmp_path, **corpus_paths) -> RunContext:
    return RunContext(data_dirs=[tmp_path / "nowhere"], cache_dir=tmp_path / "cache", workers=1,
                      corpus_paths={k: str(v) for k, v in corpus_paths.items()})


def test_ravdess_tree_with_song_files_and_a_bad_code(registry, tmp_path):
    root = tmp_path / "RAVDESS"
    write_tone(root / "Actor_01" / "03-01-05-02-01-01-01.wav")
    write_tone(root / "Actor_02" / "03-01-04-01-02-02-02.wav", 1)
    write_tone(root / "Actor_02" / "03-02-04-01-02-02-02.wav", 2)  # song: excluded by default
    bad = root / "Actor_02" / "03-01-09-01-02-02-02.wav"
    write_tone(bad, 3)
    spec = registry.get("datasets", "ravdess")
    with pytest.raises(SerBenchError) as info:
        spec.load(context(tmp_path, ravdess=root))
    assert str(bad) in str(info.value) and "unknown RAVDESS emotion code '09'" in str(info.value)
    ctx = context(tmp_path, ravdess=root)
    ctx.skip_bad_files = True
    manifest = spec.load(ctx)
    assert list(manifest["emotion"]) == ["anger", "sadness"] and list(manifest["intensity"]) == ["strong", "normal"]
    assert list(manifest["gender"]) == ["male", "female"]
    assert len(ctx.skipped_files) == 1 and str(bad) in ctx.skipped_files[0]
    with_song = spec.load(ctx, include_song=True)
    assert len(with_song) == 3


@pytest.mark.skipif(not (SHARED_DATA / "crema-d-meta").is_dir(), reason="../shared/data not present")
def test_crema_loader_on_the_real_7442_file_names(registry, tmp_path):
    names = (SHARED_DATA / "crema-d-meta" / "audio_filenames.txt").read_text().split()
    audio = tmp_path / "CREMA-D" / "AudioWAV"
    audio.mkdir(parents=True)
    for name in names:
        (audio / name).touch()  # names only: the loader does not open the audio
    shutil.copy(SHARED_DATA / "crema-d-meta" / "VideoDemographics.csv", tmp_path / "CREMA-D")
    manifest = registry.get("datasets", "crema").load(RunContext(data_dirs=[tmp_path], cache_dir=tmp_path / "c"))
    assert len(manifest) == 7442 and manifest["speaker"].nunique() == 91
    assert manifest["sentence"].nunique() == 12
    assert manifest["emotion"].value_counts().to_dict() == {
        "anger": 1271, "disgust": 1271, "fear": 1271, "happiness": 1271, "sadness": 1271, "neutral": 1087}
    assert set(manifest["gender"]) == {"male", "female"}
    assert set(manifest["intensity"]) == {"low", "medium", "high", "unspecified"}


def test_enterface_tree_with_spaces_extra_level_and_avi_audio(registry, tmp_path):
    import av

    root = tmp_path / "eNTERFACE05"
    files = [root / "subject 1" / "anger" / "sentence 1" / "s1_an_1.avi",
             root / "subject 6" / "subject 6" / "fear" / "sentence 2" / "s6_fe_2.avi"]
    for path in files:
        path.parent.mkdir(parents=True)
        with av.open(str(path), "w") as out:
            stream = out.add_stream("pcm_s16le", rate=48000, layout="stereo")
            pcm = (np.tile(np.sin(np.arange(4800) / 5.0), (2, 1)).T.reshape(1, -1) * 8000).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm), format="s16", layout="stereo")
            frame.rate = 48000
            for packet in stream.encode(frame):
                out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
    manifest = registry.get("datasets", "enterface").load(context(tmp_path, enterface=root))
    assert list(manifest["speaker"]) == ["s1", "s6"] and list(manifest["emotion"]) == ["anger", "fear"]
    from ser_bench.data.audio import load_audio

    signal = load_audio(files[1])
    assert signal.ndim == 1 and abs(len(signal) - 1600) <= 2


@pytest.mark.parametrize("name, files, expected", [
    ("emodb", ["wav/03a01Fa.wav", "wav/08b02Lb.wav"], [("03", "happiness", "male"), ("08", "boredom", "female")]),
    ("tess", ["OAF_angry/OAF_back_angry.wav", "YAF_pleasant_surprised/YAF_bite_ps.wav"],
     [("OAF", "anger", "female"), ("YAF", "surprise", "female")]),
    ("savee", ["AudioData/DC/sa03.wav", "AudioData/KL/su11.wav"], [("DC", "sadness", "male"), ("KL", "surprise", "male")]),
])
def test_small_acted_corpora(registry, tmp_path, name, files, expected):
    root = tmp_path / name
    for i, rel in enumerate(files):
        write_tone(root / rel, i)
    manifest = registry.get("datasets", name).load(context(tmp_path, **{name: root}))
    assert list(zip(manifest["speaker"], manifest["emotion"], manifest["gender"])) == expected
    assert {"arousal", "valence"} <= set(manifest.columns)


def test_csv_manifest_relative_paths_missing_files_and_labels(registry, tmp_path):
    write_tone(tmp_path / "clips" / "a.wav")
    write_tone(tmp_path / "clips" / "b.wav", 1)
    pd.DataFrame({"path": ["clips/a.wav", "clips/b.wav", "clips/gone.wav"], "speaker": ["1", "2", "2"],
                  "emotion": ["ang", "sadness", "sadness"]}).to_csv(tmp_path / "mine.csv", index=False)
    spec = registry.get("datasets", "csv")
    with pytest.raises(SerBenchError, match="gone.wav"):
        spec.load(context(tmp_path), path=str(tmp_path / "mine.csv"), label_map={"ang": "anger"})
    ctx = context(tmp_path)
    ctx.skip_bad_files = True
    manifest = spec.load(ctx, path=str(tmp_path / "mine.csv"), label_map={"ang": "anger"})
    assert list(manifest["emotion"]) == ["anger", "sadness"] and Path(manifest["path"][0]).is_absolute()
    with pytest.raises(SerBenchError, match="needs its manifest"):
        spec.load(context(tmp_path))


def test_dimensions_follow_the_table_and_intensity():
    frame = add_dimensions(pd.DataFrame({"emotion": ["anger", "anger", "sadness"],
                                         "intensity": ["normal", "strong", "low"]}))
    assert frame["valence"].tolist() == [CIRCUMPLEX["anger"][0]] * 2 + [CIRCUMPLEX["sadness"][0]]
    assert frame["arousal"].tolist() == pytest.approx([0.7, 0.875, -0.3])


def test_datasets_check_reports_each_problem_with_its_path(registry, tmp_path):
    from ser_bench.data.checks import check_corpus

    root = tmp_path / "RAVDESS"
    for actor in (1, 2):
        for emotion in ("05", "04"):
            write_tone(root / f"Actor_{actor:02d}" / f"03-01-{emotion}-01-01-01-{actor:02d}.wav", actor * 10 + int(emotion))
    (root / "Actor_01" / "03-01-05-01-01-01-01.wav").write_bytes(b"")  # empty
    (root / "Actor_02" / "03-01-04-01-01-01-02.wav").write_text("not audio")  # non-audio with a .wav name
    (root / "Actor_02" / "readme-01.wav").write_bytes(b"RIFF")  # unexpected name
    shutil.copy(root / "Actor_02" / "03-01-05-01-01-01-02.wav", root / "Actor_02" / "03-01-05-01-01-02-02.wav")
    manifest, problems = check_corpus(registry.get("datasets", "ravdess"), context(tmp_path, ravdess=root))
    text = "\n".join(map(str, problems))
    assert "03-01-05-01-01-01-01.wav: empty file" in text
    assert "03-01-04-01-01-01-02.wav: not readable as audio" in text
    assert "readme-01.wav: unexpected name" in text
    assert "identical content to" in text and "03-01-05-01-01-02-02.wav" in text
    assert "speaker 03: no clips found" in text  # 22 actors missing
    assert "speaker 01: 1 anger clips, a complete copy has 8" in text


# --- TurEV-DB, any audio format, the real EmoDB and TurEV-DB copies -------------------------------------

def test_turev_tree_as_distributed_with_a_code_folder_clash_and_a_bad_name(registry, tmp_path):
    repo = tmp_path / "TurEV-DB"  # the repository's root, found among the data dir's folder names
    good = ["Angry/1157_kz_beste.wav", "Sad/1157_hl_beste.wav", "Calm/1234_sk_acik.wav", "Happy/1234_mt_acik.wav",
            "Sad/7895_hl_ogul1.wav"]
    for i, rel in enumerate(good):
        write_tone(repo / "Sound Source" / rel, i)
    clash = repo / "Sound Source" / "Calm" / "1358_kz_deve.wav"  # an angry code in the calm folder
    malformed = repo / "Sound Source" / "Happy" / "1358-mt-deve.wav"
    write_tone(clash, 10)
    write_tone(malformed, 11)
    # The repository's filtered copies for the paper's experiments lie beside Sound Source: never read.
    filtered = repo / "Model Output for Test Data" / "testEmotions500HighPass" / "sound"
    write_tone(filtered / "Angry" / "1234_kz_cay.wav", 12)
    spec = registry.get("datasets", "turev")
    with pytest.raises(SerBenchError) as info:
        spec.load(RunContext(data_dirs=[tmp_path], cache_dir=tmp_path / "cache", workers=1))
    assert str(clash) in str(info.value)
    assert "emotion code 'kz' (anger) disagrees with its folder 'Calm' (calm)" in str(info.value)
    ctx = RunContext(data_dirs=[tmp_path], cache_dir=tmp_path / "cache", workers=1)
    ctx.skip_bad_files = True
    manifest = spec.load(ctx)
    assert [Path(p).relative_to(repo / "Sound Source").as_posix() for p in manifest["path"]] == sorted(good)
    rows = manifest.set_index(manifest["path"].map(lambda p: Path(p).stem))
    assert rows.loc["1157_kz_beste", ["speaker", "emotion", "sentence"]].tolist() == ["1157", "anger", "beste"]
    assert rows.loc["1234_sk_acik", "emotion"] == "calm" and rows.loc["1234_mt_acik", "emotion"] == "happiness"
    assert rows.loc["7895_hl_ogul1", "sentence"] == "ogul"  # a numbered take of the word "ogul"
    assert set(manifest.loc[manifest["speaker"] == "1157", "emotion"]) == {"anger", "sadness"}
    assert set(manifest["language"]) == {"tr"} and set(manifest["corpus"]) == {"turev"}
    skipped = "\n".join(ctx.skipped_files)
    assert len(ctx.skipped_files) == 2 and str(clash) in skipped
    assert f"{malformed}: not a TurEV-DB name (expected <speaker>_<code>_<word>.wav" in skipped


def test_turev_check_expects_no_calm_or_happy_words_of_speaker_1157(registry, tmp_path):
    """TurEV-DB has no fixed count per speaker and emotion, so the check warns about missing speakers and
    the total only, never about 1157's two emotions; a file in the wrong folder is an error."""
    from ser_bench.data.checks import check_corpus

    root = tmp_path / "Sound Source"
    for i, rel in enumerate(["Angry/1157_kz_beste.wav", "Sad/1157_hl_beste.wav", "Angry/1234_kz_beste.wav",
                             "Calm/1234_sk_beste.wav", "Happy/1234_mt_beste.wav", "Sad/1234_hl_beste.wav",
                             "Sad/1234_kz_kedi.wav"]):
        write_tone(root / rel, i)
    manifest, problems = check_corpus(registry.get("datasets", "turev"), context(tmp_path, turev=root))
    found = {(p.severity, p.where, p.message.split(",")[0]) for p in problems}
    assert found == {
        ("error", str(root / "Sad" / "1234_kz_kedi.wav"),
         "unexpected name: emotion code 'kz' (anger) disagrees with its folder 'Sad' (sadness)"),
        *{("warning", f"speaker {s}", "no clips found (missing speaker folder?)")
          for s in ("1358", "1984", "6783", "7895")},
        ("warning", "turev", "6 clips"),
    }
    assert len(manifest) == 6


FLAC_TREES = {
    "emodb": ["wav/03a01Fa.flac", "wav/08b02Lb.flac"],
    "tess": ["OAF_angry/OAF_back_angry.flac", "YAF_pleasant_surprised/YAF_bite_ps.flac"],
    "savee": ["AudioData/DC/sa03.flac", "AudioData/KL/su11.flac"],
    "ravdess": ["Actor_01/03-01-05-02-01-01-01.flac", "Actor_02/03-01-04-01-02-02-02.flac"],
    "crema": ["1001_DFA_ANG_XX.flac", "1002_IEO_SAD_HI.flac"],
    "enterface": ["subject 1/anger/sentence 1/s1_an_1.flac", "subject 2/fear/sentence 2/s2_fe_2.flac"],
    "turev": ["Sound Source/Angry/1157_kz_beste.flac", "Sound Source/Sad/1157_hl_beste.flac"],
}


@pytest.mark.parametrize("name", sorted(FLAC_TREES))
def test_every_loader_reads_a_flac_copy_of_its_corpus(registry, tmp_path, name):
    root = tmp_path / name
    for i, rel in enumerate(FLAC_TREES[name]):
        write_tone(root / rel, i)  # soundfile writes FLAC for a .flac name
        assert sf.info(str(root / rel)).format == "FLAC"
    (root / "notes.txt").write_text("not audio")  # other files in the folder are not taken for clips
    manifest = registry.get("datasets", name).load(context(tmp_path, **{name: root}))
    assert sorted(Path(p).relative_to(root).as_posix() for p in manifest["path"]) == sorted(FLAC_TREES[name])
    assert manifest["emotion"].notna().all() and manifest["speaker"].nunique() >= 1


def test_crema_given_the_distribution_root_reads_the_wav_copy_not_the_mp3_one(registry, tmp_path):
    """CREMA-D ships every clip as AudioWAV/*.wav and AudioMP3/*.mp3; MP3 being a format the loaders take,
    the folder above both must still give each clip once."""
    root = tmp_path / "CREMA-D"
    for i, stem in enumerate(["1001_DFA_ANG_XX", "1002_IEO_SAD_HI"]):
        write_tone(root / "AudioWAV" / f"{stem}.wav", i)
        (root / "AudioMP3").mkdir(exist_ok=True)
        (root / "AudioMP3" / f"{stem}.mp3").write_bytes(b"ID3")  # names only: the loader opens no audio
    manifest = registry.get("datasets", "crema").load(context(tmp_path, crema=root))
    assert [Path(p).relative_to(root).as_posix() for p in manifest["path"]] == [
        "AudioWAV/1001_DFA_ANG_XX.wav", "AudioWAV/1002_IEO_SAD_HI.wav"]


@pytest.mark.parametrize("name", sorted(FLAC_TREES))
def test_a_loader_finding_no_clip_says_the_extension_is_free(registry, tmp_path, name):
    root = tmp_path / name
    root.mkdir()
    (root / "readme.txt").write_text("the audio is elsewhere")
    with pytest.raises(SerBenchError) as info:
        registry.get("datasets", name).load(context(tmp_path, **{name: root}))
    assert re.search(r"^no usable \S+ audio files found: expected \S.*\.(wav|avi)\b.* "
                     r"\(or \.\w+, (\.\w+, )*\.\.\.: any .*format libsndfile reads\) under ",
                     str(info.value)), str(info.value)


def test_the_loaders_share_one_definition_of_the_audio_suffixes():
    """No loader lists its own suffixes (``{".wav"}``): they take the shared set, so a FLAC, OGG or MP3
    copy of any corpus loads."""
    import ser_bench_plugins.datasets as datasets

    for source in sorted(Path(datasets.__file__).parent.glob("*.py")):
        text = source.read_text()
        if "audio_files(" in text:
            assert "audio_files(root, {" not in text and "audio_files(audio, {" not in text, source.name
            assert "SOUND_SUFFIXES" in text or "AUDIO_SUFFIXES" in text, source.name


@pytest.mark.parametrize("suffix", sorted(SOUNDFILE_SUFFIXES))
def test_every_listed_suffix_is_a_format_libsndfile_reads(tmp_path, suffix):
    from ser_bench.data.audio import load_audio
    from ser_bench.data.corpus import SOUND_SUFFIXES, audio_files

    fmt = SOUNDFILE_SUFFIXES[suffix]
    if fmt not in sf.available_formats() or (suffix == ".opus" and "OPUS" not in sf.available_subtypes("OGG")):
        pytest.skip(f"this libsndfile ({sf.__libsndfile_version__}) has no {fmt}")
    path = tmp_path / f"clip{suffix.upper()}"  # upper case: the suffix is matched whatever its case
    sf.write(str(path), TONE, 16000, format=fmt, subtype="OPUS" if suffix == ".opus" else None)
    assert audio_files(tmp_path, SOUND_SUFFIXES) == [path]
    signal = load_audio(path)
    assert signal.ndim == 1 and len(signal) >= 8000 and np.abs(signal).max() > 0.05


EMODB_COUNTS = {"anger": 127, "boredom": 81, "disgust": 46, "fear": 69, "happiness": 71, "neutral": 79, "sadness": 62}


@pytest.mark.skipif(not (SHARED_DATA / "emodb-16k").is_dir(), reason="../shared/data not present")
def test_the_real_emodb_copy_in_flac(registry, tmp_path):
    manifest = registry.get("datasets", "emodb").load(context(tmp_path, emodb=SHARED_DATA / "emodb-16k"))
    assert len(manifest) == 535 and manifest["speaker"].nunique() == 10
    assert all(p.endswith(".flac") for p in manifest["path"])
    assert manifest["emotion"].value_counts().to_dict() == EMODB_COUNTS
    assert manifest["sentence"].nunique() == 10
    assert manifest.groupby("gender")["speaker"].nunique().to_dict() == {"female": 5, "male": 5}


@pytest.mark.skipif(not (SHARED_DATA / "turev-db-16k").is_dir(), reason="../shared/data not present")
def test_the_real_turev_copy_and_its_check(registry, tmp_path):
    from ser_bench.data.checks import check_corpus

    spec = registry.get("datasets", "turev")
    ctx = context(tmp_path, turev=SHARED_DATA / "turev-db-16k")
    manifest, problems = check_corpus(spec, ctx, read_audio=False)
    assert [p for p in problems if p.severity != "note"] == [] and ctx.skipped_files == []
    assert len(manifest) == 1735 and sorted(manifest["speaker"].unique()) == list(spec.expected_speakers)
    by_speaker = manifest.groupby("speaker")["emotion"].agg(lambda e: sorted(set(e))).to_dict()
    assert by_speaker.pop("1157") == ["anger", "sadness"]
    assert all(emotions == ["anger", "calm", "happiness", "sadness"] for emotions in by_speaker.values())
    assert (manifest["speaker"] == "1157").sum() == 150
    assert manifest["emotion"].value_counts().to_dict() == {"anger": 487, "sadness": 483, "calm": 408, "happiness": 357}
    assert manifest["sentence"].str.fullmatch("[a-z]+").all()
