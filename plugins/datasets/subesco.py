"""SUBESCO: the SUST Bangla Emotional Speech Corpus, 20 speakers (10 female, 10 male) x 10 sentences x
7 emotions x 5 takes, 7000 clips.

Layout as distributed (``SUBESCO.zip`` on Zenodo): a folder of
``<sex>_<speaker>_<NAME>_S_<sentence>_<EMOTION>_<take>.wav``, e.g. ``F_01_OISHI_S_1_ANGRY_1.wav``: sex (F
or M), a two-digit speaker number counted within each sex (the speaker is kept as ``F_01``, the first
name as ``speaker_name``), sentence 1-10, emotion in English (ANGRY DISGUST FEAR HAPPY NEUTRAL SAD
SURPRISE) and take 1-5. Clips are taken at any depth below the corpus folder. CC BY 4.0. Sultana, Rahman,
Selim & Iqbal (2021), SUST Bangla Emotional Speech Corpus (SUBESCO): an audio-only emotional speech
corpus for Bangla, PLOS ONE 16(4), e0250173.
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

EMOTIONS = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness", "neutral": "neutral",
            "sad": "sadness", "surprise": "surprise"}

SUBESCO = CorpusDescription(
    name="subesco", language="bn",
    summary="SUBESCO: Bangla, 20 speakers, 10 sentences, 7 emotions, 5 takes, 7000 clips",
    pattern=r"(?:.*/)?(?P<speaker>(?P<sex>[fm])_\d{2})_(?P<speaker_name>[a-z]+)_s_(?P<sentence>\d{1,2})"
            r"_(?P<emotion>[a-z]+)_(?P<take>\d)",
    example="F_01_OISHI_S_1_ANGRY_1.wav",
    emotions=EMOTIONS,
    sex_codes={"f": "female", "m": "male"},
    folder_names=("SUBESCO", "subesco"),
    homepage="https://doi.org/10.5281/zenodo.4526477", licence="CC BY 4.0",
    reference="Sultana et al. (2021), SUST Bangla Emotional Speech Corpus (SUBESCO): an audio-only emotional "
              "speech corpus for Bangla, PLOS ONE 16(4)",
    expected_per_speaker={e: 50 for e in EMOTIONS.values()},
    expected_clips=7000,
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(SUBESCO)]
