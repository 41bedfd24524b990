"""ASED: the Amharic Speech Emotion Dataset, 65 speakers of four dialects, 5 emotions, 2,474 clips.

Layout as distributed (GitHub, ``wgwangang/ASED_V1``): one folder per emotion (``01Neutral 02Fearful
03Happy 04Sad 05Angry``) holding ``<e><n>-<sentence>-<repetition>-<sex>-<speaker>.wav``, e.g.
``01Neutral/n1-01-01-01-01.wav``: the emotion letter (a angry, f fearful, h happy, n neutral, s sad) and
its folder's number, the sentence and the repetition (kept as ``sentence`` and ``repetition``), the sex
(``01`` female, ``02`` male) and the speaker's number.

Quirks: one clip is named with an upper-case letter (``S4-04-02-01-29``), so names are read
case-insensitively; the emotion is read from the name, not the folder, so a copy flattened into one
folder loads too. Assumed: the speaker number alone identifies a speaker across dialects (the names hold
no dialect); the repository holds a few clips fewer than the paper's 2,474, so no clip count is checked.
Licence: free for research (as stated by the authors). Retta, Almekhlafi, Sutcliffe, Mhamed, Ali & Feng
(2023), A new Amharic speech emotion dataset and classification benchmark, ACM TALLIP 22(1).
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

ASED = CorpusDescription(
    name="ased", language="am",
    summary="ASED: Amharic, 65 speakers, 4 dialects, 5 emotions, 2,474 clips",
    pattern=r"(?:.*/)?(?P<emotion>[a-z])\d-(?P<sentence>\d+)-(?P<repetition>\d+)-(?P<sex>\d+)-(?P<speaker>\d+)",
    example="01Neutral/n1-01-01-01-01.wav",
    emotions={"a": "anger", "f": "fear", "h": "happiness", "n": "neutral", "s": "sadness"},
    sex_codes={"01": "female", "02": "male"},
    folder_names=("ASED", "ased", "ASED_V1"),
    homepage="https://github.com/wgwangang/ASED_V1", licence="free for research use",
    reference="Retta et al. (2023), A new Amharic speech emotion dataset and classification benchmark, "
              "ACM Transactions on Asian and Low-Resource Language Information Processing 22(1)",
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(ASED)]
