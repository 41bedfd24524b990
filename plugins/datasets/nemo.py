"""nEMO: Polish emotional speech, 9 actors (4 women, 5 men), 6 emotions, 4,481 clips.

Layout as distributed (GitHub ``amu-cai/nEMO``, also on Hugging Face): ``samples/<speaker>_<emotion>_<n>.wav``,
e.g. ``samples/EB0_anger_1.wav``, beside ``data.tsv``, which repeats each clip's emotion and speaker and
adds its transcription, the speaker's gender and age. The names hold the labels (the TSV's ``emotion`` is
the name's), so the names are read and the TSV is not needed; the speakers' sexes, which only the TSV
gives, are a table here: EB0 IC0 KD0 MK0 female, KS0 MP0 SM0 TP0 WR0 male. Emotion codes are English
words (anger, fear, happiness, neutral, sadness, surprised); the number is the sentence, kept as
``sentence`` (the same number is the same text for every speaker and emotion). Licence: CC BY-NC-SA 4.0.
Christop (2024), nEMO: dataset of emotional speech in Polish, LREC-COLING.
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

FEMALE, MALE = ("EB0", "IC0", "KD0", "MK0"), ("KS0", "MP0", "SM0", "TP0", "WR0")

NEMO = CorpusDescription(
    name="nemo", language="pl",
    summary="nEMO: Polish, 9 actors, 6 emotions, 4,481 clips",
    pattern=r"(?:.*/)?(?P<speaker>[A-Z]{2}\d)_(?P<emotion>[a-z]+)_(?P<sentence>\d+)",
    example="samples/EB0_anger_1.wav",
    emotions={"anger": "anger", "fear": "fear", "happiness": "happiness", "neutral": "neutral",
              "sadness": "sadness", "surprised": "surprise"},
    speaker_sex={**dict.fromkeys(FEMALE, "female"), **dict.fromkeys(MALE, "male")},
    folder_names=("nEMO", "nemo"),
    homepage="https://github.com/amu-cai/nEMO", licence="CC BY-NC-SA 4.0",
    reference="Christop (2024), nEMO: Dataset of Emotional Speech in Polish, LREC-COLING",
    expected_speakers=tuple(sorted(FEMALE + MALE)),
    expected_clips=4481,
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(NEMO)]
