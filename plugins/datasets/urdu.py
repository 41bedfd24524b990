"""URDU: Urdu emotional speech from Urdu talk shows, 38 speakers (27 men, 11 women), 4 emotions, 400 clips.

Layout as distributed (GitHub, ``siddiquelatif/URDU-Dataset``): one folder per emotion (``Angry Happy
Neutral Sad``) holding ``S<sex><n>_F<file>_<e><n>.wav``, e.g. ``Angry/SM1_F10_A010.wav``: the speaker
(``SM1``: sex ``M`` or ``F`` and a number; the whole code is the speaker, since numbers repeat across
sexes), the file number (kept as ``file``) and the emotion letter (A angry, H happy, N neutral, S sad)
with the clip's number. The emotion is read from the name, not the folder. Licence: research use (as
published by the authors). Latif, Qayyum, Usman & Qadir (2018), Cross lingual speech emotion recognition:
Urdu vs. Western languages, FIT.
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

URDU = CorpusDescription(
    name="urdu", language="ur",
    summary="URDU: Urdu talk-show speech, 38 speakers, 4 emotions, 400 clips",
    pattern=r"(?:.*/)?(?P<speaker>S(?P<sex>[mf])\d+)_F(?P<file>\d+)_(?P<emotion>[a-z])\d+",
    example="Angry/SM1_F10_A010.wav",
    emotions={"a": "anger", "h": "happiness", "n": "neutral", "s": "sadness"},
    sex_codes={"f": "female", "m": "male"},
    folder_names=("URDU", "urdu", "URDU-Dataset", "URDU-Dataset-master"),
    homepage="https://github.com/siddiquelatif/URDU-Dataset", licence="research use",
    reference="Latif, Qayyum, Usman & Qadir (2018), Cross lingual speech emotion recognition: Urdu vs. "
              "Western languages, International Conference on Frontiers of Information Technology (FIT)",
    expected_clips=400,
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(URDU)]
