"""A corpus described, not coded: one record says where a corpus's clips are and what their names mean,
and :func:`dataset_from` makes the dataset plugin (its ``load``, its name parser, its checks).

Most emotional speech corpora encode everything in their file and folder names
(``03a01Fa.wav``: speaker 03, sentence a01, emotion F; ``Angry/1157_kz_beste.wav``). For them a corpus
is a regular expression over the clip's path below the corpus folder, with named groups, and a table from
the corpus's own emotion codes to the common vocabulary (recorded in every result as the ``label_map``).
Quirks keep a code hook (``fields``): a corpus whose labels live in a separate file, or whose speakers
need a table, adds a function, not a loader.

Named groups the pattern may hold: ``speaker`` and ``emotion`` (required), ``sentence``, ``intensity``,
``sex`` (read through ``sex_codes``), and any other name, kept as a manifest column. The path matched is
relative to the corpus folder, with ``/`` between folders and without the file's extension, so one pattern
serves a WAV original and a FLAC copy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from ser_bench.data.corpus import ANY_SOUND_EXTENSION, SOUND_SUFFIXES, audio_files, manifest_from_files
from ser_bench.plugin_api.types import DatasetSpec
from ser_bench.plugin_api.vocabulary import VOCABULARY

SEXES = ("female", "male")


@dataclass(frozen=True)
class CorpusDescription:
    """Everything ser-bench needs to know of a corpus whose clip names say what they hold.

    ``pattern``: a regular expression matched (whole, case-insensitively unless ``case_sensitive``) against
    each clip's path below the corpus folder, ``/``-separated and without its extension; see the module
    for its groups. ``emotions``: the corpus's emotion codes (as the ``emotion`` group captures them,
    compared in lower case) -> the common vocabulary; a code mapped to ``None`` is a clip left out on
    purpose (e.g. a class outside the vocabulary). ``example``: one clip path as distributed, for
    messages. ``sex_codes``: what the ``sex`` group captures -> ``female``/``male``; ``speaker_sex``: each
    speaker's sex where names do not say. ``intensity_codes``: the ``intensity`` group -> ``normal``,
    ``strong`` or ``low`` (how arousal coordinates are scaled). ``fields(fields, path)``: a hook for quirks,
    given the parsed fields (emotion already mapped) and the path; it returns them (changed or not),
    ``None`` to leave the clip out on purpose, or raises ``ValueError`` saying what is wrong with the name.
    ``suffixes``: which files count as clips. ``title``: how messages name the corpus (``EmoDB``; default
    its ``name``). The rest are :class:`~ser_bench.plugin_api.types.DatasetSpec`'s.
    """

    name: str
    language: str
    summary: str
    pattern: str
    emotions: Mapping[str, Optional[str]]
    example: str
    folder_names: tuple[str, ...] = ()
    sex_codes: Mapping[str, str] = field(default_factory=dict)
    speaker_sex: Mapping[str, str] = field(default_factory=dict)
    intensity_codes: Mapping[str, str] = field(default_factory=dict)
    fields: Optional[Callable[[dict, Path], Optional[dict]]] = None
    suffixes: frozenset = SOUND_SUFFIXES
    case_sensitive: bool = False
    title: str = ""
    homepage: str = ""
    licence: str = ""
    reference: str = ""
    obtain: str = ""  # how a user gets a copy (a request form, a licence to sign), said when it is missing
    expected_speakers: tuple[str, ...] = ()
    expected_per_speaker: Mapping[str, int] = field(default_factory=dict)
    expected_clips: int = 0

    def __post_init__(self):
        for code, label in self.emotions.items():
            if label is not None and label not in VOCABULARY:
                raise ValueError(f"corpus {self.name!r}: emotion code {code!r} maps to {label!r}, which is not in "
                                 f"the common vocabulary ({', '.join(VOCABULARY)})")
        groups = re.compile(self.pattern).groupindex
        missing = [g for g in ("speaker", "emotion") if g not in groups]
        if missing:
            raise ValueError(f"corpus {self.name!r}: its pattern has no named group {', '.join(missing)}")
        for sex in (*self.sex_codes.values(), *self.speaker_sex.values()):
            if sex not in SEXES:
                raise ValueError(f"corpus {self.name!r}: sex {sex!r} is neither female nor male")


class NameParser:
    """``parse(path) -> fields`` of a described corpus (a class, so that it pickles by reference)."""

    def __init__(self, description: CorpusDescription, root: Optional[Path] = None):
        self.d = description
        self.root = root
        flags = 0 if description.case_sensitive else re.IGNORECASE
        self.regex = re.compile(description.pattern, flags)
        self.emotions = {str(k).lower(): v for k, v in description.emotions.items()}
        self.sex_codes = {str(k).lower(): v for k, v in description.sex_codes.items()}
        self.intensity = {str(k).lower(): v for k, v in description.intensity_codes.items()}
        self.title = description.title or description.name
        self.article = "an" if self.title[:1].lower() in "aeio" else "a"

    def relative(self, path: Path) -> str:
        path = Path(path)
        try:
            rel = path.relative_to(self.root) if self.root is not None else Path(path.name)
        except ValueError:
            rel = Path(path.name)
        return rel.with_suffix("").as_posix()

    def __call__(self, path: Path) -> Optional[dict[str, Any]]:
        rel = self.relative(path)
        match = self.regex.fullmatch(rel) or (self.regex.fullmatch(Path(rel).name) if "/" in rel else None)
        if match is None:
            raise ValueError(f"not {self.article} {self.title} clip name (expected e.g. {self.d.example})")
        found = {k: v for k, v in match.groupdict().items() if v is not None}
        written = found.pop("emotion")
        code = written.lower()
        if code not in self.emotions:
            shown = written if self.d.case_sensitive else code
            raise ValueError(f"unknown {self.title} emotion code {shown!r} (known: {', '.join(map(str, self.d.emotions))})")
        if self.emotions[code] is None:
            return None  # a class outside the vocabulary: left out on purpose
        out: dict[str, Any] = {"speaker": found.pop("speaker"), "emotion": self.emotions[code]}
        if "sex" in found:
            sex = found.pop("sex").lower()
            if sex not in self.sex_codes:
                raise ValueError(f"unknown {self.title} sex code {sex!r} (known: {', '.join(self.sex_codes)})")
            out["gender"] = self.sex_codes[sex]
        elif out["speaker"] in self.d.speaker_sex:
            out["gender"] = self.d.speaker_sex[out["speaker"]]
        if "intensity" in found:
            level = found.pop("intensity").lower()
            if self.intensity and level not in self.intensity:
                raise ValueError(f"unknown {self.title} intensity code {level!r}")
            out["intensity"] = self.intensity.get(level, level)
        out.update(found)
        return self.d.fields(out, Path(path)) if self.d.fields is not None else out


class DescribedLoader:
    """``load(ctx)`` of a described corpus."""

    def __init__(self, description: CorpusDescription, folder_names: tuple[str, ...]):
        self.d = description
        self.folder_names = folder_names

    def __call__(self, ctx):
        root = Path(ctx.find_corpus(self.d.name, self.folder_names))
        return manifest_from_files(audio_files(root, self.d.suffixes), NameParser(self.d, root), self.d.name,
                                   self.d.language, ctx.report_bad_file,
                                   f"expected e.g. {self.d.example} {ANY_SOUND_EXTENSION} under {root}")


def dataset_from(description: CorpusDescription) -> DatasetSpec:
    """The dataset plugin's spec of a described corpus: return it from a ``ser_bench_datasets`` hook."""
    d = description
    folder_names = d.folder_names or (d.name,)
    reference = d.reference + (f" Obtain: {d.obtain}" if d.obtain else "")
    return DatasetSpec(
        name=d.name, load=DescribedLoader(d, folder_names), summary=d.summary, folder_names=folder_names,
        homepage=d.homepage, licence=d.licence, reference=reference.strip(), language=d.language,
        label_map={k: v for k, v in d.emotions.items() if v is not None},
        expected_speakers=d.expected_speakers, expected_per_speaker=d.expected_per_speaker,
        expected_clips=d.expected_clips)
