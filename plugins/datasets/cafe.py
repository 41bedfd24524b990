"""CaFE: the Canadian French Emotional speech dataset, 12 actors x 6 sentences x (6 emotions x 2
intensities + neutral), 936 clips.

Layout as distributed (``CaFE_48k.zip`` or the 192 kHz AIFF parts on Zenodo): one folder per emotion in
French (``Colère Dégoût Joie Neutre Peur Surprise Tristesse``), each but ``Neutre`` split into ``Faible``
(low) and ``Fort`` (high intensity), holding ``<actor>-<emotion>-<intensity>-<sentence>``, e.g.
``Colère/Faible/01-C-1-1.wav``; neutral clips have no intensity field (``Neutre/01-N-1.wav``). Codes: C
colère anger, D dégoût disgust, J joie happiness, N neutre neutral, P peur fear, S surprise, T tristesse
sadness; intensity 1 faible (low), 2 fort (strong); sentences 1-6 (a two-digit sentence number, as in
``01-C-1-01``, is read as well). The Readme gives each actor's sex: odd numbers men, even numbers women.
Only the names are read, the folders may be at any depth. CC BY-NC-SA 4.0. Gournay, Lahaie & Lefebvre
(2018), A Canadian French emotional speech dataset, Proc. ACM Multimedia Systems (MMSys), pp. 399-402.
"""
from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import CorpusDescription, dataset_from

ACTORS = tuple(f"{i:02d}" for i in range(1, 13))
EMOTIONS = {"c": "anger", "d": "disgust", "j": "happiness", "n": "neutral", "p": "fear", "s": "surprise",
            "t": "sadness"}

CAFE = CorpusDescription(
    name="cafe", language="fr",
    summary="CaFE: Canadian French, 12 actors, 6 sentences, 7 emotions (6 at two intensities), 936 clips",
    pattern=r"(?:.*/)?(?P<speaker>\d{2})-(?P<emotion>[a-z])(?:-(?P<intensity>\d))?-(?P<sentence>\d{1,2})",
    example="Colère/Faible/01-C-1-1.wav",
    emotions=EMOTIONS,
    intensity_codes={"1": "low", "2": "strong"},
    speaker_sex={a: "male" if int(a) % 2 else "female" for a in ACTORS},
    folder_names=("CaFE", "cafe", "CaFE_48k", "CaFE_192k"),
    homepage="https://zenodo.org/record/1478765", licence="CC BY-NC-SA 4.0",
    reference="Gournay, Lahaie & Lefebvre (2018), A Canadian French emotional speech dataset, ACM MMSys",
    expected_speakers=ACTORS,
    expected_per_speaker={**{e: 12 for e in EMOTIONS.values() if e != "neutral"}, "neutral": 6},
    expected_clips=936,
)


@hookimpl
def ser_bench_datasets():
    return [dataset_from(CAFE)]
