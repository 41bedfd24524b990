"""Case 2: a damaged clip (cut, NaN/inf samples, silent, too short) is never dropped silently: without
--skip-bad-files it is an error naming the file and the reason; with it, it is left out and listed in
the result's ``skipped_files``."""
from __future__ import annotations


import numpy as np
import pytest
import soundfile as sf

from ser_bench.data.audio import load_audio
from ser_bench.errors import BadAudioError, SerBenchError
from ser_bench.results.record import Result

from ser_bench.running.runner import run

from .conftest import RATE, clip_name, idt_cells, make_ctx, run_idt, write_tree

VICTIM = clip_name(2, "anger", 1)


def cut(path):
    data = path.read_bytes()
    path.write_bytes(data[:44 + 56])  # the header and 28 samples: the header still announces them all


def nan_samples(path):
    signal, _ = sf.read(path, dtype="float32")
    signal[100:200] = np.nan
    sf.write(path, signal, RATE, subtype="FLOAT")


def inf_samples(path):
    signal, _ = sf.read(path, dtype="float32")
    signal[5] = np.inf
    sf.write(path, signal, RATE, subtype="FLOAT")


def silent(path):
    sf.write(path, np.zeros(RATE // 2, dtype=np.float32), RATE, subtype="PCM_16")


def too_short(path):  # a valid file, too short for the extractor's windows: its features come out NaN
    sf.write(path, (0.1 * np.random.default_rng(0).standard_normal(28)).astype(np.float32), RATE, subtype="PCM_16")


DAMAGE = {  # how to damage a clip -> words the message must use
    "truncated": (cut, "truncated"),
    "nan": (nan_samples, "NaN or infinite"),
    "inf": (inf_samples, "NaN or infinite"),
    "silent": (silent, "silent"),
    "too short": (too_short, "features came out NaN"),
}


@pytest.mark.parametrize("kind", sorted(set(DAMAGE) - {"too short"}))
def test_load_audio_refuses_damaged_samples_naming_file_and_reason(kind, copy_tree):
    tree = copy_tree()
    damage, words = DAMAGE[kind]
    damage(tree / VICTIM)
    with pytest.raises(BadAudioError) as info:
        load_audio(tree / VICTIM)
    assert str(tree / VICTIM) in str(info.value) and words in str(info.value)


@pytest.mark.filterwarnings("ignore:Segment too short")  # openSMILE's own note on the too-short clip
@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_clip_is_an_error_or_skipped_and_listed_never_dropped(kind, registry, copy_tree, tmp_path):
    tree = copy_tree()
    damage, words = DAMAGE[kind]
    damage(tree / VICTIM)
    cache = tmp_path / "cache"
    with pytest.raises(SerBenchError) as info:
        run_idt(registry, make_ctx(tree, cache), tmp_path / "strict")
    message = str(info.value)
    assert VICTIM.split("/")[1] in message and words in message and "--skip-bad-files" in message
    assert not list((tmp_path / "strict").glob("*.json"))  # no result from a corpus with an unnamed hole

    report = run_idt(registry, make_ctx(tree, cache, skip=True), tmp_path / "lenient")
    assert len(report.ran) == 1 and not report.failed
    result = Result.from_disk(tmp_path / "lenient" / f"{report.ran[0].cell_id}.json")
    skipped = result.data["target"].skipped_files
    assert len(skipped) == 1 and VICTIM.split("/")[1] in skipped[0] and words in skipped[0]
    assert result.data["target"].clips_used == 23
    assert any(VICTIM.split("/")[1] in w and "--skip-bad-files" in w for w in report.warnings)


def test_only_the_clips_of_the_label_set_are_read(registry, tmp_path):
    """A damaged clip of an emotion the grid does not use is never decoded: it cannot stop the run,
    and it is not listed as skipped (it was not left out of anything)."""
    tree = write_tree(tmp_path / "ravdess", emotions=("anger", "sadness", "fear"))
    cut(tree / VICTIM)  # an anger clip
    labels = ("sadness", "fear")
    report = run(idt_cells(registry, labels=labels), registry, make_ctx(tree, tmp_path / "cache"),
                 tmp_path / "results", executor="serial")
    assert len(report.ran) == 1 and not report.failed, report.failed
    data = report.ran[0].data["target"]
    assert data.skipped_files == [] and data.clips_used == 3 * 2 * 4 and data.clips_in_corpus == 3 * 3 * 4
