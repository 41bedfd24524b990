"""MESD: the Mexican Emotional Speech Database, Mexican Spanish single words, 6 emotions, 864 clips.

Layout as distributed (Mendeley Data): one flat folder of ``<Emotion>_<voice>_<corpus>_<word>.wav``,
e.g. ``Anger_C_A_abajo.wav``. Emotions are English words (Anger, Disgust, Fear, Happiness, Neutral,
Sadness); the voice type is ``F`` (adult female), ``M`` (adult male) or ``C`` (child); the corpus is ``A``
or ``B`` (two word lists of 24), kept as ``word_list``; the word is kept as ``word`` (any characters but
``_``, accented letters included).

Quirk: the names do not tell the individual speakers apart, only the voice type, so the voice type is
the ``speaker`` (3 speakers of 288 clips: 6 emotions x 48 words). Speaker-independent splits are
therefore splits by voice type. Adult voices get their sex; child voices get none. Licence: CC BY 4.0.
Duville, Alonso-Valerdi & Ibarra-Zarate (2021), The Mexican Emotional Speech Database (MESD): elaboration
and assessment based on machine learning, IEEE EMBC.
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

EMOTIONS = ("anger", "disgust", "fear", "happiness", "neutral", "sadness")

MESD = CorpusDescription(
    name="mesd", language="es",
    summary="MESD: Mexican Spanish words, adult female/male and child voices, 6 emotions, 864 clips",
    pattern=r"(?:.*/)?(?P<emotion>[a-z]+)_(?P<speaker>[fmc])_(?P<word_list>[ab])_(?P<word>[^_/]+)",
    example="Anger_C_A_abajo.wav",
    emotions={e: e for e in EMOTIONS},
    speaker_sex={"F": "female", "M": "male"},
    folder_names=("MESD", "mesd", "Mexican Emotional Speech Database (MESD)"),
    homepage="https://data.mendeley.com/datasets/cy34mh68j9", licence="CC BY 4.0",
    reference="Duville, Alonso-Valerdi & Ibarra-Zarate (2021), The Mexican Emotional Speech Database (MESD): "
              "elaboration and assessment based on machine learning, IEEE EMBC",
    expected_speakers=("C", "F", "M"),
    expected_per_speaker={e: 48 for e in EMOTIONS},
    expected_clips=864,
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(MESD)]
