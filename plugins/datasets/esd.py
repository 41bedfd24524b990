"""ESD: the Emotional Speech Dataset, 10 Mandarin and 10 English speakers x 5 emotions x 350 sentences,
35 000 clips, offered as one corpus with a ``language`` column (select one with ``esd[language=en]``).

Layout as distributed (``Emotion Speech Dataset/`` in the archive): one folder per speaker ``0001`` to
``0020``, each holding its transcript ``<speaker>.txt`` (no audio, skipped) and one folder per emotion
(``Angry Happy Neutral Sad Surprise``) of ``<speaker>_<utterance>.wav``, e.g.
``0001/Angry/0001_000351.wav``. The first release splits each emotion folder into ``train/``,
``evaluation/`` and ``test/``; later copies are flat: both are read, and the file name must repeat its
speaker folder. Speakers 0001-0010 speak Mandarin (``zh``), 0011-0020 English (``en``), set per speaker
by a ``fields`` hook. Each speaker's sex is as the corpus's ReadMe lists it: female 0001 0002 0003 0007
0009 0015 0016 0017 0018 0019, male 0004 0005 0006 0008 0010 0011 0012 0013 0014 0020. Research use only.
Zhou, Sisman, Liu & Li (2021), Seen and unseen emotional style transfer for voice conversion with a new
emotional speech dataset, ICASSP 2021, pp. 920-924.
"""
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

SPEAKERS = tuple(f"{i:04d}" for i in range(1, 21))
FEMALE = ("0001", "0002", "0003", "0007", "0009", "0015", "0016", "0017", "0018", "0019")
EMOTIONS = {"angry": "anger", "happy": "happiness", "neutral": "neutral", "sad": "sadness", "surprise": "surprise"}


def language_of_speaker(fields: dict, path: Path) -> dict:
    """Speakers 0001-0010 recorded Mandarin, 0011-0020 English."""
    return {**fields, "language": "zh" if int(fields["speaker"]) <= 10 else "en"}


ESD = CorpusDescription(
    name="esd", language="zh+en",
    summary="ESD: Mandarin and English, 20 speakers (10 each), 5 emotions, 35000 clips",
    pattern=r"(?:.*/)?(?P<speaker>00(?:0[1-9]|1\d|20))/(?P<emotion>[a-z]+)/(?:(?:train|evaluation|test)/)?"
            r"(?P=speaker)_(?P<sentence>\d{6})",
    example="0001/Angry/0001_000351.wav",
    emotions=EMOTIONS,
    speaker_sex={s: "female" if s in FEMALE else "male" for s in SPEAKERS},
    fields=language_of_speaker,
    folder_names=("ESD", "esd", "Emotion Speech Dataset", "Emotional Speech Dataset (ESD)"),
    homepage="https://github.com/HLTSingapore/Emotional-Speech-Data", licence="research use only",
    reference="Zhou et al. (2021), Seen and unseen emotional style transfer for voice conversion with a new "
              "emotional speech dataset, ICASSP",
    obtain="fill in the request form linked from https://github.com/HLTSingapore/Emotional-Speech-Data",
    expected_speakers=SPEAKERS,
    expected_per_speaker={e: 350 for e in EMOTIONS.values()},
    expected_clips=35000,
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(ESD)]
