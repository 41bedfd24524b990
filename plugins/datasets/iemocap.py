"""IEMOCAP: the Interactive Emotional Dyadic Motion Capture database, 10 actors in 5 dyadic sessions,
scripted and improvised dialogs, categorical and dimensional labels (audio only here).

Layout as distributed (``IEMOCAP_full_release``): ``Session{1..5}/sentences/wav/<dialog>/<utterance>.wav``
and ``Session{n}/dialog/EmoEvaluation/<dialog>.txt``, whose turn lines

    [6.2901 - 8.2357]	Ses01F_impro01_F000	neu	[2.5000, 2.5000, 2.5000]

give the utterance, its consensus category and its mean [valence, activation, dominance] on the
annotators' 1-5 scale; the annotators' own lines below each turn line are not read, nor are the
``Categorical``/``Attribute``/``Self-evaluation`` folders beside the files. Only ``sentences/wav`` is read
(``dialog/wav`` holds whole dialogs).

- Speaker: a session has one actress and one actor, and the utterance name's last segment begins with
  the speaker's sex (``Ses01F_impro01_M003``: the man of session 1), so the speaker id is the session and
  that letter, ``01M``. The ``F``/``M`` after ``Ses01`` only says who wore the motion-capture markers.
- ``sentence``: the script a scripted dialog performs (``script01`` for ``Ses01F_script01_2``), or the
  improvisation's scenario (``impro05`` for ``Ses03M_impro05b``): clips sharing it share text or topic,
  which is what the sentence-overlap check needs. ``dialog`` keeps the dialog's name, ``kind`` says
  ``scripted`` or ``improvised``, ``session`` the session.
- Categories: ang anger, hap happiness, sad sadness, neu neutral, sur surprise, fea fear, dis disgust;
  exc (excited) becomes happiness with the dataset parameter ``merge_excited`` (default ``True``, as in
  most papers: the four-class set anger/happiness+excited/sadness/neutral has 5531 clips); with
  ``merge_excited=False`` excited clips are left out. The label map shows the default merge; the
  parameter is recorded in every result, as every dataset parameter is. Left out on purpose: fru
  (frustration: no emotion of the common vocabulary), xxx (the annotators did not agree) and oth
  (other).
- Dimensions: ``valence``, ``arousal`` (IEMOCAP's activation) and ``dominance`` are the annotated means,
  rescaled from 1-5 to [-1, 1] as (x - 3) / 2 (a value outside 1-5 is clipped to it); they replace the
  circumplex coordinates other corpora's categories get, so the continuous losses train on them.

Licence: on request (the USC SAIL release form). Busso et al. (2008), IEMOCAP: interactive emotional
dyadic motion capture database, Language Resources and Evaluation 42(4): 335-359.
"""
from __future__ import annotations

import re
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import DatasetSpec
from ser_bench.plugin_kit.helpers import ANY_SOUND_EXTENSION, SOUND_SUFFIXES, audio_files, manifest_from_files

EMOTIONS = {"ang": "anger", "hap": "happiness", "exc": "happiness", "sad": "sadness", "neu": "neutral",
            "sur": "surprise", "fea": "fear", "dis": "disgust"}
LEFT_OUT = {"fru": "frustration", "xxx": "no agreement", "oth": "other"}
SEXES = {"F": "female", "M": "male"}
LAYOUT = "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav"
_TURN = re.compile(r"^\[\s*(?P<start>[\d.]+)\s*-\s*(?P<end>[\d.]+)\s*\]\s+(?P<name>\S+)\s+(?P<code>\S+)\s+"
                   r"\[\s*(?P<v>[-\d.]+)\s*,\s*(?P<a>[-\d.]+)\s*,\s*(?P<d>[-\d.]+)\s*\]\s*$")
_NAME = re.compile(r"^Ses(?P<session>\d{2})[FM]_(?P<kind>script|impro)(?P<number>\d+)[^_]*(?:_\w+?)?"
                   r"_(?P<sex>[FM])[A-Z]*\d+$")


def rescale(value: float) -> float:
    """A 1-5 rating on [-1, 1]: (x - 3) / 2, clipped."""
    return min(1.0, max(-1.0, (value - 3.0) / 2.0))


def parse_evaluation(text: str, source: str = "EmoEvaluation") -> dict:
    """``{utterance: (code, valence, activation, dominance)}`` of one EmoEvaluation file's turn lines
    (raw codes and 1-5 values). Lines not beginning with ``[`` (the header, the annotators' lines) are
    skipped; a line beginning with ``[`` that is not a turn line is an error naming it."""
    turns = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("["):
            continue
        match = _TURN.match(line)
        if match is None:
            raise SerBenchError(f"{source}, line {number}: not an EmoEvaluation turn line (expected e.g. "
                                f"'[6.2901 - 8.2357]<tab>Ses01F_impro01_F000<tab>neu<tab>[2.5000, 2.5000, "
                                f"2.5000]'): {line.strip()[:120]!r}")
        turns[match["name"]] = (match["code"].lower(), float(match["v"]), float(match["a"]), float(match["d"]))
    return turns


def utterance_fields(name: str) -> dict:
    """Speaker, sex, sentence, dialog, kind and session of an utterance name (``Ses01F_script01_1_M012``)."""
    match = _NAME.match(name)
    if match is None:
        raise ValueError(f"not an IEMOCAP utterance name (expected e.g. Ses01F_impro01_F000 or "
                         f"Ses01F_script01_1_M012), got {name!r}")
    session, sex = match["session"], match["sex"]
    return {"speaker": f"{session}{sex}", "gender": SEXES[sex], "session": int(session),
            "sentence": f"{match['kind']}{match['number']}", "dialog": name.rsplit("_", 1)[0],
            "kind": "scripted" if match["kind"] == "script" else "improvised"}


def labelled(code: str, merge_excited: bool):
    """The common-vocabulary emotion of an EmoEvaluation code; ``None`` for a clip left out on purpose."""
    if code == "exc" and not merge_excited:
        return None
    if code in LEFT_OUT:
        return None
    if code not in EMOTIONS:
        raise ValueError(f"unknown IEMOCAP category {code!r} (known: {', '.join([*EMOTIONS, *LEFT_OUT])})")
    return EMOTIONS[code]


class Parser:
    """``parse(path)`` of an IEMOCAP clip: its fields from its name and its EmoEvaluation line."""

    def __init__(self, turns: dict, merge_excited: bool):
        self.turns = turns
        self.merge_excited = merge_excited

    def __call__(self, path: Path):
        name = Path(path).stem
        fields = utterance_fields(name)
        if name not in self.turns:
            raise ValueError(f"no line for {name} in Session{fields['session']}/dialog/EmoEvaluation/"
                             f"{fields['dialog']}.txt")
        code, valence, activation, dominance = self.turns[name]
        emotion = labelled(code, self.merge_excited)
        if emotion is None:
            return None
        return {**fields, "emotion": emotion, "category": code, "valence": rescale(valence),
                "arousal": rescale(activation), "dominance": rescale(dominance)}


def corpus_root(root: Path) -> Path:
    """The folder holding ``Session1`` ... (the one given, or its ``IEMOCAP_full_release``)."""
    root = Path(root)
    if not any(root.glob("Session[1-5]")) and (root / "IEMOCAP_full_release").is_dir():
        return root / "IEMOCAP_full_release"
    return root


def read_evaluations(root: Path) -> dict:
    """Every turn line of ``Session*/dialog/EmoEvaluation/*.txt`` under ``root``."""
    turns: dict = {}
    files = sorted(p for p in root.glob("Session[1-5]/dialog/EmoEvaluation/*.txt") if not p.name.startswith("."))
    for path in files:
        turns.update(parse_evaluation(path.read_text(encoding="utf-8", errors="replace"), str(path)))
    if not files:
        raise SerBenchError(f"no IEMOCAP labels under {root}: expected Session1/dialog/EmoEvaluation/"
                            "Ses01F_impro01.txt and the like (the folder IEMOCAP_full_release as distributed)")
    return turns


def load(ctx, merge_excited: bool = True):
    """Find the user's IEMOCAP copy and return its manifest; ``merge_excited`` maps excited clips onto
    happiness (else they are left out)."""
    root = corpus_root(ctx.find_corpus("iemocap", SPEC.folder_names))
    turns = read_evaluations(root)
    files = [f for folder in sorted(root.glob("Session[1-5]/sentences/wav")) for f in audio_files(folder, SOUND_SUFFIXES)]
    return manifest_from_files(files, Parser(turns, bool(merge_excited)), "iemocap", "en", ctx.report_bad_file,
                               f"expected e.g. {LAYOUT} {ANY_SOUND_EXTENSION} under {root}")


SPEC = DatasetSpec(
    name="iemocap", load=load, params=defaults_of(load, "datasets"),
    summary="IEMOCAP: 10 actors in 5 sessions, scripted and improvised, categories and annotated valence/arousal/dominance",
    folder_names=("IEMOCAP_full_release", "IEMOCAP", "iemocap"),
    homepage="https://sail.usc.edu/iemocap/", licence="on request (USC SAIL release form)",
    reference="Busso et al. (2008), IEMOCAP: interactive emotional dyadic motion capture database, Language "
              "Resources and Evaluation 42(4): 335-359. Obtain: https://sail.usc.edu/iemocap/iemocap_release.htm",
    label_map=dict(EMOTIONS),
    expected_speakers=tuple(f"0{s}{x}" for s in range(1, 6) for x in "FM"),
    # ang 1103, hap 595 + exc 1041, sad 1084, neu 1708, sur 107, fea 40, dis 2 (the consensus labels)
    expected_clips=5680,
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
