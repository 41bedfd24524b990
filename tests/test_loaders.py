"""Real-corpus loaders on generated trees that follow each corpus's real naming, and bad input."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_bench.plugin_api.context import RunContext
from ser_bench.errors import SerBenchError
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
