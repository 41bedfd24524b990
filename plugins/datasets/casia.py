"""CASIA: Mandarin Chinese acted emotional speech, 4 professional speakers x 6 emotions.

Layout as distributed (the copy that circulates for research, 1200 clips: 50 sentences per speaker and
emotion): one folder per speaker (``liuchanhg wangzhe zhaoquanyin ZhaoZuoxiang``) holding one folder per
emotion (``angry fear happy neutral sad surprise``) of clips numbered by sentence, e.g.
``liuchanhg/angry/201.wav``. The full corpus has 9600 clips (300 sentences read in every emotion and 100
with emotional content); no public document gives its file layout, so this loader assumes the same
speaker/emotion/sentence folders and takes them at any depth below the corpus folder (``CASIA database/``
and the like). The speakers' sex is not documented with the corpus and is left out; no clip count is
checked, since copies differ in size. Distributed by the Chinese LDC under its licence, not openly.
Tao, Liu, Zhang & Jia (2008), Design of speech corpus for Mandarin text to speech, Blizzard Challenge
workshop (the CASIA corpus, Institute of Automation, Chinese Academy of Sciences).
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

SPEAKERS = ("liuchanhg", "wangzhe", "zhaoquanyin", "ZhaoZuoxiang")

CASIA = CorpusDescription(
    name="casia", language="zh",
    summary="CASIA: Mandarin, 4 speakers, 6 emotions (1200 clips in the circulating copy, 9600 in full)",
    pattern=r"(?:.*/)?(?P<speaker>" + "|".join(SPEAKERS) + r")/(?P<emotion>[a-z]+)/(?P<sentence>\d+)",
    example="liuchanhg/angry/201.wav",
    emotions={"angry": "anger", "fear": "fear", "happy": "happiness", "neutral": "neutral", "sad": "sadness",
              "surprise": "surprise"},
    folder_names=("CASIA", "casia", "CASIA database"),
    homepage="http://www.chineseldc.org/", licence="Chinese LDC licence (on request)",
    reference="Tao et al. (2008), Design of speech corpus for Mandarin text to speech, Blizzard Challenge "
              "workshop (CASIA Chinese emotional corpus)",
    obtain="licence the CASIA Chinese emotional corpus from the Chinese LDC (chineseldc.org)",
    expected_speakers=SPEAKERS,
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(CASIA)]
