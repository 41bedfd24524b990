"""JL-Corpus: New Zealand English emotional speech, 4 actors (2 women, 2 men), 5 primary and 5 secondary
emotions.

Layout as distributed (Kaggle, ``Raw JL corpus (unchecked and unannotated)/JL(wav+txt)/``): one flat
folder of ``<speaker>_<emotion>_<sentence>_<take>.wav``, e.g. ``male1_angry_5a_1.wav``, each beside a
``.txt`` transcript (not audio, so not listed). The speakers are ``female1 female2 male1 male2`` (the
word is their sex); the sentence is a number and a variant letter (``5a``, ``10b``), kept as
``sentence``, and the take (1 or 2) as ``take``. Any folders above the file are accepted, so the
checked and annotated subsets the corpus also ships load too.

Emotion codes are English words. The primary emotions map to the vocabulary (angry anger, happy
happiness, sad sadness, neutral neutral). ``excited`` (primary in the paper) and the secondary emotions
(anxious, apologetic, assertive, concerned, encouraging, enthusiastic, pensive, worried) are left out on
purpose: none is one of the vocabulary's categories (excited is often merged with happiness, as in
IEMOCAP, but that is a choice, not a translation), so they would only add labels no other corpus shares.
The word list comes from the files as distributed; the paper lists the secondary set slightly
differently, so every word it names is known here. Licence: CC BY-NC-SA 4.0 (as published on Kaggle).
James, Tian & Watson (2018), An open source emotional speech corpus for human robot interaction
applications, Interspeech.
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

OUTSIDE = ("excited", "anxious", "apologetic", "assertive", "concerned", "encouraging", "enthusiastic",
           "pensive", "worried")

JL = CorpusDescription(
    name="jl", language="en",
    summary="JL-Corpus: New Zealand English, 4 actors, primary emotions (angry, happy, sad, neutral)",
    pattern=r"(?:.*/)?(?P<speaker>(?P<sex>female|male)[12])_(?P<emotion>[a-z]+)_(?P<sentence>\d+[a-z])_(?P<take>\d+)",
    example="male1_angry_5a_1.wav",
    emotions={"angry": "anger", "happy": "happiness", "sad": "sadness", "neutral": "neutral",
              **dict.fromkeys(OUTSIDE)},
    sex_codes={"female": "female", "male": "male"},
    folder_names=("JL-Corpus", "JL", "jl", "jl-corpus", "JL corpus"),
    homepage="https://www.kaggle.com/datasets/tli725/jl-corpus", licence="CC BY-NC-SA 4.0",
    reference="James, Tian & Watson (2018), An open source emotional speech corpus for human robot "
              "interaction applications, Interspeech",
    expected_speakers=("female1", "female2", "male1", "male2"),
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(JL)]
