"""AESDD: the Acted Emotional Speech Dynamic Database, Greek, 5 actors (v1.0) x about 20 utterances x 5
emotions, about 500 clips.

Layout as distributed (``Acted Emotional Speech Dynamic Database/``): one folder per emotion (``anger
disgust fear happiness sadness``) of ``<emotion letter><utterance> (<actor>).wav``, e.g.
``anger/a01 (1).wav``: a anger, d disgust, f fear, h happiness, s sadness; utterances 01-20 (kept as
``sentence``, the 20th improvised); the actor's number in parentheses. Where two takes of one utterance
were kept, the second carries a lower-case letter after the parenthesis (``f18 (5)b.wav``), kept as
``take``. The database is dynamic: actors added later follow the same names, so no speaker list or clip
count is checked. The README says v1.0 has 3 female and 2 male actors but not which is which, so sex is
left out. Free for research use (see the homepage). Vryzas, Kotsakis, Liatsou, Dimoulas & Kalliris
(2018), Speech emotion recognition for performance interaction, J. Audio Eng. Soc. 66(6), 457-467.
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

AESDD = CorpusDescription(
    name="aesdd", language="el",
    summary="AESDD: Greek, 5 actors, 20 utterances, 5 emotions, about 500 clips",
    pattern=r"(?:.*/)?(?P<emotion>[a-z])(?P<sentence>\d{2}) ?\((?P<speaker>\d+)\) ?(?P<take>[a-z])?",
    example="anger/a01 (1).wav",
    emotions={"a": "anger", "d": "disgust", "f": "fear", "h": "happiness", "s": "sadness"},
    folder_names=("Acted Emotional Speech Dynamic Database", "AESDD", "aesdd"),
    homepage="http://m3c.web.auth.gr/research/aesdd-speech-emotion-recognition/", licence="research use",
    reference="Vryzas et al. (2018), Speech emotion recognition for performance interaction, J. Audio Eng. "
              "Soc. 66(6)",
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(AESDD)]
