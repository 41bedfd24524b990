"""TESS: the Toronto Emotional Speech Set, two actresses (aged 26 and 64) x 200 words x 7 emotions.

Layout: folders such as ``OAF_angry/`` holding ``OAF_back_angry.wav`` (speaker OAF or YAF, the target
word, the emotion; "ps" is pleasant surprise, some copies spell it out). 2800 clips. Dupuis &
Pichora-Fuller (2010), University of Toronto, Psychology Department. With only two speakers,
leave-one-speaker-out is a cross-age test. Names are read whatever their case; the speaker is kept in
capitals and the word in lower case, as the corpus's folders write them.
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

EMOTIONS = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness", "neutral": "neutral",
            "ps": "surprise", "pleasant_surprise": "surprise", "pleasant_surprised": "surprise", "sad": "sadness"}


def _normalised(fields: dict, _path) -> dict:
    """``oaf_Back_angry.wav`` and ``OAF_back_angry.wav`` are one speaker and one word."""
    return {**fields, "speaker": fields["speaker"].upper(), "sentence": fields["sentence"].lower(),
            "gender": "female"}


TESS = CorpusDescription(
    name="tess", language="en",
    summary="TESS: 2 actresses, 200 words, 7 emotions, 2800 clips",
    pattern=r"(?:.*/)?(?P<speaker>[OY]AF)_(?P<sentence>[^_/]+)_(?P<emotion>[a-z_]+)",
    example="OAF_angry/OAF_back_angry.wav", emotions=EMOTIONS, fields=_normalised,
    folder_names=("TESS", "tess", "TESS Toronto emotional speech set data"),
    homepage="https://tspace.library.utoronto.ca/handle/1807/24487", licence="CC BY-NC-ND 4.0",
    reference="Dupuis & Pichora-Fuller (2010), Toronto Emotional Speech Set (TESS)",
    expected_speakers=("OAF", "YAF"),
    expected_per_speaker={e: 200 for e in ("anger", "disgust", "fear", "happiness", "neutral", "surprise", "sadness")},
    expected_clips=2800,
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(TESS)]
