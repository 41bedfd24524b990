"""ShEMO: the Sharif Emotional Speech Database, Persian, 87 speakers from radio plays, 6 classes, 3000 clips.

Layout as distributed: two archives, ``female.zip`` and ``male.zip``, unpacking to ``female/`` and
``male/`` folders of ``<sex><speaker><emotion><utterance>.wav``, e.g. ``female/F01A01.wav``: sex (F or M),
a two-digit speaker number counted within each sex (so ``F01`` and ``M01`` are two speakers, and the
speaker is kept as both), the emotion letter (A anger, F fear, H happiness, N neutral, S sadness, W
surprise) and a two-digit utterance number, kept as ``sentence`` (it numbers clips, not texts). Clips are
taken at any depth. 31 female and 56 male speakers; the classes are unbalanced (only 38 fear clips).
Free for academic use. Mohamad Nezami, Jamshid Lou & Karami (2019), ShEMO: a large-scale validated
database for Persian speech emotion detection, Language Resources and Evaluation 53(1), 1-16.
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

SHEMO = CorpusDescription(
    name="shemo", language="fa",
    summary="ShEMO: Persian, 87 speakers (radio plays), 6 emotions, 3000 clips",
    pattern=r"(?:.*/)?(?P<speaker>(?P<sex>[fm])\d{2})(?P<emotion>[a-z])(?P<sentence>\d{2})",
    example="female/F01A01.wav",
    emotions={"a": "anger", "f": "fear", "h": "happiness", "n": "neutral", "s": "sadness", "w": "surprise"},
    sex_codes={"f": "female", "m": "male"},
    folder_names=("ShEMO", "shemo"),
    homepage="https://github.com/mansourehk/ShEMO", licence="academic use, free of charge",
    reference="Mohamad Nezami et al. (2019), ShEMO: a large-scale validated database for Persian speech "
              "emotion detection, Language Resources and Evaluation 53(1)",
    expected_clips=3000,
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(SHEMO)]
