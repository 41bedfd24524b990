"""SAVEE: Surrey Audio-Visual Expressed Emotion, 4 male British speakers x 120 utterances.

Layout ``AudioData/DC/a01.wav``: speaker folder (DC, JE, JK, KL), emotion prefix (a anger, d disgust,
f fear, h happiness, n neutral, sa sadness, su surprise) and a number; some copies are flat, the speaker
prefixed to the name (``DC_a01.wav``), and a prefix wins over the folder. The name without the speaker
(``a01``) is kept as ``sentence``. 480 clips (neutral 30 per speaker, the others 15). Haq & Jackson
(2009), AVSP.
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

EMOTIONS = {"a": "anger", "d": "disgust", "f": "fear", "h": "happiness", "n": "neutral", "sa": "sadness",
            "su": "surprise"}
SPEAKERS = ("DC", "JE", "JK", "KL")


def _male(fields: dict, _path) -> dict:
    """Every SAVEE speaker is a man."""
    return {**fields, "gender": "male"}


SAVEE = CorpusDescription(
    name="savee", title="SAVEE", language="en",
    summary="SAVEE: 4 male British speakers, 7 emotions, 480 clips",
    # the speaker is the folder (DC/a01) or the name's prefix (DC_a01), whichever stands last
    pattern=r"(?:.*/)?(?P<speaker>DC|JE|JK|KL)[/_](?P<sentence>(?P<emotion>sa|su|a|d|f|h|n)\d\d)",
    case_sensitive=True, example="AudioData/DC/a01.wav or DC_a01.wav", emotions=EMOTIONS,
    fields=_male,
    folder_names=("SAVEE", "savee", "SAVEE/AudioData", "AudioData"),
    homepage="http://kahlan.eps.surrey.ac.uk/savee/", licence="free for research",
    reference="Haq & Jackson (2009), Speaker-dependent audio-visual emotion recognition, AVSP",
    expected_speakers=SPEAKERS,
    expected_per_speaker={e: (30 if e == "neutral" else 15) for e in EMOTIONS.values()}, expected_clips=480,
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(SAVEE)]
