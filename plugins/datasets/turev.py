"""TurEV-DB: the Turkish Emotion Voice Database, 6 speakers, single words, 4 emotions, 1735 clips.

Layout as distributed: ``Sound Source/<Angry|Calm|Happy|Sad>/<speaker>_<code>_<word>.wav``, e.g.
``Sound Source/Angry/1157_kz_beste.wav``: speaker (1157 1234 1358 1984 6783 7895), emotion code (kz
kızgın angry, sk sakin calm, mt mutlu happy, hl hüzünlü sad), always agreeing with the folder, and the
word spoken. Speaker 1157 recorded only angry and sad words (150 files), and the speakers recorded up to
82 words per emotion, not all of them, so a complete copy has no fixed count per speaker and emotion.
Clips are single words of about one second. Any audio format libsndfile reads is taken, whatever the
extension. Canpolat, Ormanoğlu & Zeyrek (2020), Proc. SLTU-CCURL 2020, pp. 368-375.
"""
from __future__ import annotations

from pathlib import Path

from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import ANY_SOUND_EXTENSION, SOUND_SUFFIXES, audio_files, manifest_from_files
from ser_bench.plugin_api.types import DatasetSpec

EMOTIONS = {"kz": "anger", "sk": "calm", "mt": "happiness", "hl": "sadness"}
FOLDERS = {"angry": "anger", "calm": "calm", "happy": "happiness", "sad": "sadness"}
LAYOUT = "Sound Source/<Angry|Calm|Happy|Sad>/<speaker>_<code>_<word>.wav (e.g. Angry/1157_kz_beste.wav)"


def parse_name(path: Path) -> dict:
    """Fields of a TurEV-DB file such as ``Angry/1157_kz_beste.wav``; the emotion is the folder's, and
    the code in the name must agree with it."""
    parts = path.stem.split("_", 2)
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2]:
        raise ValueError("not a TurEV-DB name (expected <speaker>_<code>_<word>.wav, e.g. 1157_kz_beste.wav)")
    speaker, code, word = parts[0], parts[1].lower(), parts[2].lower()
    if code not in EMOTIONS:
        raise ValueError(f"unknown TurEV-DB emotion code {code!r} ({', '.join(EMOTIONS)})")
    folder = FOLDERS.get(path.parent.name.lower())
    if folder is None:
        raise ValueError(f"not in an emotion folder (Angry, Calm, Happy or Sad) but in {path.parent.name!r}")
    if EMOTIONS[code] != folder:
        raise ValueError(f"emotion code {code!r} ({EMOTIONS[code]}) disagrees with its folder "
                         f"{path.parent.name!r} ({folder})")
    # The text spoken; one file (7895_hl_ogul1) numbers a take, which is still the word "ogul".
    text = word.rstrip("0123456789")
    if not text:
        raise ValueError(f"no word in the name after the emotion code (found {word!r})")
    return {"speaker": speaker, "emotion": folder, "sentence": text}


def load(ctx):
    """Find the user's TurEV-DB copy and return its manifest (``Sound Source/`` when the repository's
    root is given: the root's other folders hold filtered copies made for the paper's experiments)."""
    root = ctx.find_corpus("turev", SPEC.folder_names)
    audio = root / "Sound Source" if (root / "Sound Source").is_dir() else root
    return manifest_from_files(audio_files(audio, SOUND_SUFFIXES), parse_name, "turev", "tr", ctx.report_bad_file,
                               f"expected {LAYOUT} {ANY_SOUND_EXTENSION} under {root}")


SPEC = DatasetSpec(
    name="turev", load=load, language="tr",
    summary="TurEV-DB (Turkish): 6 speakers, single words, 4 emotions, 1735 clips",
    folder_names=("TurEV-DB", "turev-db", "TurEV", "turev"),
    homepage="https://github.com/Xeonen/TurEV-DB", licence="CC BY-NC-ND 4.0",
    reference="Canpolat, Ormanoğlu & Zeyrek (2020), Turkish Emotion Voice Database (TurEV-DB), "
              "Proc. SLTU-CCURL 2020, pp. 368-375",
    label_map=dict(EMOTIONS),
    expected_speakers=("1157", "1234", "1358", "1984", "6783", "7895"),
    # No expected_per_speaker: it is one count per emotion for every speaker, and TurEV-DB has none
    # (1157 has 77 angry and 73 sad words and no calm or happy ones, 7895 29 happy ones, the others 82).
    expected_clips=1735,
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
