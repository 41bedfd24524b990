"""EMOVO: Italian emotional speech, 6 actors (3 women, 3 men) x 14 sentences x 7 emotions, 588 clips.

Layout as distributed: one folder per actor (``f1 f2 f3 m1 m2 m3``) holding ``<emotion>-<actor>-<sentence>.wav``,
e.g. ``f1/dis-f1-b1.wav``; the emotion codes are Italian (dis disgusto, gio gioia, neu neutro, pau paura,
rab rabbia, sor sorpresa, tri tristezza), the actor's first letter is their sex, and the sentence code
(``b1``, ``l2``, ``n3``, ...: short, long and nonsense sentences) is kept as ``sentence``. A ``Documents``
folder beside the actors holds no audio. Costantini, Iaderola, Paoloni & Todisco (2014), LREC.
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

EMOVO = CorpusDescription(
    name="emovo", language="it",
    summary="EMOVO: Italian, 6 actors, 14 sentences, 7 emotions, 588 clips",
    pattern=r"(?:.*/)?(?P<emotion>[a-z]{3})-(?P<speaker>(?P<sex>[fm])[1-3])-(?P<sentence>[a-z]\d+)",
    example="f1/dis-f1-b1.wav",
    emotions={"dis": "disgust", "gio": "happiness", "neu": "neutral", "pau": "fear", "rab": "anger",
              "sor": "surprise", "tri": "sadness"},
    sex_codes={"f": "female", "m": "male"},
    folder_names=("EMOVO", "emovo"),
    homepage="http://voice.fub.it/activities/corpora/emovo/index.html", licence="research use (on request)",
    reference="Costantini et al. (2014), EMOVO corpus: an Italian emotional speech database, LREC",
    expected_speakers=("f1", "f2", "f3", "m1", "m2", "m3"),
    expected_per_speaker={e: 14 for e in ("disgust", "happiness", "neutral", "fear", "anger", "surprise",
                                          "sadness")},
    expected_clips=588,
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(EMOVO)]
