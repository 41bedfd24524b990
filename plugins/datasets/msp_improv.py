"""MSP-IMPROV: American English dyadic improvisations, 12 actors (6 women, 6 men) in 6 sessions, 8,438 turns.

Layout as distributed (on request from the MSP lab): ``Evaluation.txt`` at the top, and the audio under
``session<k>/<scenario>/<type>/``, e.g. ``session1/S01A/P/MSP-IMPROV-S01A-F01-P-FM01.wav`` (the ``.avi``
videos, where they are beside it, are not listed). A name holds the scenario (``S01A``: sentence 01 and
the emotion the scenario targets, kept as ``sentence`` and ``target``), the speaker (``F01``: sex and
session, so ``F01``..``F06`` and ``M01``..``M06`` are the 12 actors), the recording type (``P`` target
sentence in an improvisation, ``R`` read, ``S`` spontaneous improvisation, ``T`` natural interaction,
kept as ``recording``) and the turn (``FM01``, kept as ``turn``).

The emotion is not in the name: it is the consensus label of the perceptual evaluation, read from
``Evaluation.txt``, whose header line per clip is ``UTD-IMPROV-S01A-F01-P-FM01.avi; A; A:2.6; V:1.8;
D:3.2 ; N:4.0;`` (its name with the corpus's earlier ``UTD-`` prefix and the video's extension, then the
consensus code), followed by one line per rater (ignored here). Codes: A anger, H happiness, S sadness,
N neutral; O (other) and X (no agreement) are left out on purpose. Assumed: that file is the documented
form of the consensus labels (as in the releases the literature uses); it may sit anywhere below the
corpus folder (the first one found is read), and a clip it does not list is reported by name.
Licence: academic licence signed with the MSP lab. Busso, Parthasarathy, Burmania, AbdelWahab, Sadoughi &
Provost (2017), MSP-IMPROV: an acted corpus of dyadic interactions to study emotion perception, IEEE
Transactions on Affective Computing 8(1).
"""
from __future__ import annotations

import re
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.types import DatasetSpec
from ser_bench.plugin_kit.helpers import ANY_SOUND_EXTENSION, SOUND_SUFFIXES, audio_files, manifest_from_files

NAME = "msp-improv"
FOLDERS = ("MSP-IMPROV", "msp-improv", "MSP_IMPROV")
EXAMPLE = "session1/S01A/P/MSP-IMPROV-S01A-F01-P-FM01.wav"
LABELS = "Evaluation.txt"
EMOTIONS = {"A": "anger", "H": "happiness", "S": "sadness", "N": "neutral", "O": None, "X": None}
CLIP = re.compile(r"MSP-IMPROV-(?P<id>(?P<sentence>S\d+)(?P<target>[AHSN])-(?P<speaker>(?P<sex>[FM])\d+)"
                  r"-(?P<recording>[PRST])-(?P<turn>[A-Z0-9]+))", re.IGNORECASE)
# A clip's header line in Evaluation.txt: its name (UTD- or MSP- prefix, any extension), then its consensus code.
HEADER = re.compile(r"\s*(?:UTD|MSP)-IMPROV-(?P<id>[A-Z0-9-]+)\.\w+\s*;\s*(?P<code>[A-Z])\s*;", re.IGNORECASE)


def read_labels(path: Path) -> dict[str, str]:
    """Clip id (``S01A-F01-P-FM01``, upper case) -> consensus code, from Evaluation.txt's header lines."""
    labels = {}
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            match = HEADER.match(line)
            if match:
                labels[match["id"].upper()] = match["code"].upper()
    return labels


class Parser:
    """A clip's fields: its name's, with the emotion of its consensus label."""

    def __init__(self, labels: dict[str, str], source: Path):
        self.labels = labels
        self.source = source

    def __call__(self, path: Path):
        match = CLIP.fullmatch(Path(path).stem)
        if match is None:
            raise ValueError(f"not an MSP-IMPROV clip name (expected e.g. {EXAMPLE})")
        code = self.labels.get(match["id"].upper())
        if code is None:
            raise ValueError(f"no consensus label for this clip in {self.source}")
        if code not in EMOTIONS:
            raise ValueError(f"unknown MSP-IMPROV emotion code {code!r} in {self.source} "
                             f"(known: {', '.join(EMOTIONS)})")
        if EMOTIONS[code] is None:
            return None  # other, or no agreement: left out on purpose
        return {"speaker": match["speaker"].upper(), "emotion": EMOTIONS[code],
                "gender": "female" if match["sex"].upper() == "F" else "male",
                "sentence": match["sentence"].upper(), "target": match["target"].upper(),
                "recording": match["recording"].upper(), "turn": match["turn"].upper()}


def load(ctx):
    root = Path(ctx.find_corpus(NAME, FOLDERS))
    source = root / LABELS
    if not source.is_file():
        source = next(iter(sorted(root.rglob(LABELS))), None)
    if source is None:
        raise SerBenchError(f"MSP-IMPROV: no {LABELS} under {root}: the emotions are its consensus labels; "
                            "it comes with the corpus (keep it beside the session folders)")
    return manifest_from_files(audio_files(root, SOUND_SUFFIXES), Parser(read_labels(source), source), NAME, "en",
                               ctx.report_bad_file, f"expected e.g. {EXAMPLE} {ANY_SOUND_EXTENSION} under {root}, "
                               f"each listed in {source}")


@hookimpl
def ser_bench_datasets():
    return [DatasetSpec(
        name=NAME, load=load, language="en",
        summary="MSP-IMPROV: American English improvisations, 12 actors, consensus labels (4 emotions)",
        folder_names=FOLDERS, homepage="https://ecs.utdallas.edu/research/researchlabs/msp-lab/MSP-Improv.html",
        licence="academic licence (on request)",
        reference="Busso et al. (2017), MSP-IMPROV: An acted corpus of dyadic interactions to study emotion "
                  "perception, IEEE Transactions on Affective Computing 8(1). Obtain: sign the academic licence "
                  "and request a copy from the MSP lab (see the homepage)",
        label_map={k: v for k, v in EMOTIONS.items() if v is not None},
        expected_speakers=tuple(f"{s}0{i}" for s in "FM" for i in range(1, 7)),
    )]
