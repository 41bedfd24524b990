"""EmoDB: the Berlin Database of Emotional Speech (German), 10 actors, 535 utterances.

Layout ``wav/SSTTTEV.wav``: speaker (03, 08-16), text code (ten sentences: a01 a02 a04 a05 a07 b01 b02
b03 b09 b10), emotion letter from the German word (W Ärger anger, L Langeweile boredom, E Ekel disgust,
A Angst fear, F Freude happiness, T Trauer sadness, N neutral) and a version letter. Any audio format
libsndfile reads is taken, whatever the extension (a FLAC copy loads as the WAV original does).
Burkhardt et al. (2005), INTERSPEECH.
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

EMOTIONS = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness",
            "N": "neutral"}
MALE = {"03", "10", "11", "12", "15"}


def _fields(fields: dict, _path) -> dict:
    """The speaker's sex (the corpus lists its men; the others are women), and the columns in the order
    EmoDB's manifests have always had them."""
    return {"speaker": fields["speaker"], "sentence": fields["sentence"], "emotion": fields["emotion"],
            "gender": "male" if fields["speaker"] in MALE else "female"}


EMODB = CorpusDescription(
    name="emodb", title="EmoDB", language="de",
    summary="EmoDB (Berlin, German): 10 actors, 10 sentences, 7 emotions, 535 clips",
    pattern=r"(?P<speaker>\d\d)(?P<sentence>[ab]\d\d)(?P<emotion>[A-Z])[a-z]", case_sensitive=True,
    example="wav/03a01Fa.wav", emotions=EMOTIONS, fields=_fields,
    folder_names=("emodb", "EmoDB", "emo-db", "berlin"),
    homepage="http://emodb.bilderbar.info/", licence="free for research",
    reference="Burkhardt et al. (2005), A database of German emotional speech, INTERSPEECH",
    expected_speakers=("03", "08", "09", "10", "11", "12", "13", "14", "15", "16"),
    expected_clips=535,
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(EMODB)]
