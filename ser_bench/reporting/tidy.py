"""Result files -> one tidy row per split, and the row labels ("methods") every table shares.

Leaderboards, statistics and recipes all start from :func:`tidy`; nothing here computes a statistic.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict

from ser_bench.errors import SerBenchError
from ser_bench.reporting.columns import SPLIT_MEASURES
from ser_bench.reporting.columns import read as read_measure
from ser_bench.results.record import DEFAULT_LAYOUT, Result, SplitResult

DASH = "–"
# Split settings that tidy rows always carry as columns of their own (with those a protocol breaks its
# results down by, see layouts); they never label a method's variant.
SPLIT_AXES = ("k", "frozen")


def layouts(results: list[Result]) -> dict:
    """``{protocol: its board layout}`` (:attr:`Result.layout`: ``order``, ``breakdown``, ``unit``,
    ``split_noun``) of the protocols of ``results``, as the first result of each records it."""
    out: dict = {}
    for r in results:
        out.setdefault(r.params.protocol, r.layout)
    return out


def breakdown_axes(results: list[Result]) -> tuple:
    """The split settings that some protocol of ``results`` breaks its results down by, in order."""
    return tuple(dict.fromkeys(axis for layout in layouts(results).values() for axis in layout["breakdown"]))


def ok_results(results: list[Result]) -> list[Result]:
    """The results whose cell finished."""
    return [r for r in results if r.ok]


def corpus_label(name) -> str:
    """How a board shows a corpus: its name, a union of corpora (``emodb|turev``) as ``emodb ∪ turev``
    (a bare ``|`` would split a markdown table's cell). A ``|`` inside brackets separates a filter's values."""
    return re.sub(r"\s*\|\s*(?![^\[]*\])", " ∪ ", name) if name else name


def pair_name(source, target) -> str:
    """``source → target``; a protocol without a source (IDT) shows a dash for it."""
    return f"{corpus_label(source) or DASH} → {corpus_label(target)}"


def missing_test_classes(result: Result, split: SplitResult) -> list:
    """The label set's classes absent from ``split``'s test set (recorded since ``missing_test_classes``
    exists, otherwise read off the confusion matrix, whose rows are the true classes)."""
    if split.missing_test_classes is not None:
        return list(split.missing_test_classes)
    confusion = split.metrics.confusion
    labels = result.params.labels
    if not confusion or len(confusion) != len(labels):
        return []
    return [label for label, row in zip(labels, confusion) if not any(row)]


class LeftOutSplit(tuple):
    """A split left out of the means: unpacks as ``(cell_id, split name, missing classes)``, as
    :func:`degenerate_splits` always returned, and also carries the cell's ``protocol`` and ``target``
    and the split's held-out ``test_speaker`` (``None`` when its test set is not one speaker's)."""

    def __new__(cls, cell_id: str, split: str, missing: list, protocol: str = "", target: str = "",
                test_speaker=None):
        found = super().__new__(cls, (cell_id, split, missing))
        found.protocol, found.target, found.test_speaker = protocol, target, test_speaker
        return found

    def __getnewargs__(self):  # pickled and copied with its three values (its attributes go with __dict__)
        return tuple(self)

    cell_id = property(lambda self: self[0])
    split = property(lambda self: self[1])
    missing = property(lambda self: self[2])


def degenerate_splits(results: list[Result]) -> list[LeftOutSplit]:
    """``(cell_id, split name, missing classes)`` (:class:`LeftOutSplit`) of every split of a successful
    result whose test set lacks some of the label set's classes: UAR over fewer classes is higher by
    construction, so these are left out of every mean, interval, test and rank (and listed, one line per
    cause, by :func:`describe_degenerate`, where they are left out)."""
    return [LeftOutSplit(r.cell_id, s.name, missing, protocol=r.params.protocol, target=r.params.target,
                         test_speaker=s.info.get("test_speaker"))
            for r in ok_results(results) if not r.pooled for s in r.splits if (missing := missing_test_classes(r, s))]


def per_split(rows):
    """Tidy ``rows`` averaged split by split whatever their cells' scoring: a measurement other than UAR
    (CCC, retrieval, calibration) is a per-split number, never pooled over folds."""
    return rows.drop(columns=["scoring"]) if "scoring" in rows else rows


def left_out(result: Result, split: SplitResult) -> bool:
    """Whether boards leave ``split`` out of their means: its test set lacks a class of the label set and its
    cell is scored per split (a cell scored pooled over its folds keeps every fold: :mod:`~ser_bench.reporting.pooled`)."""
    return not result.pooled and bool(missing_test_classes(result, split))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe_degenerate(found: list, results: list[Result] | None = None) -> list[str]:
    """One line per cause of the left-out splits ``found`` (:func:`degenerate_splits`), not per split:

    - a held-out speaker (a split whose ``info`` has ``test_speaker``, as IDT's folds do) whose clips
      lack classes: one line per target, speaker and missing classes, with how many splits of how many
      cells that leaves out; with ``results`` (those ``found`` was taken from), whether that is every
      fold of that speaker;
    - any other split (a few-shot episode, whose test set is several speakers; OODT, the whole target):
      one line per protocol, target and missing classes, with the count and one split as an example.

    A plain ``(cell_id, split, missing)`` tuple (one that does not say its target) gets a line of its own.
    """
    speakers: dict = {}
    protocols: dict = {}
    lines = []
    shown_layouts = defaultdict(lambda: DEFAULT_LAYOUT, layouts(results or []))
    for item in found:
        cell_id, split, missing = item
        target = getattr(item, "target", None)
        if target is None:
            lines.append(((-1, "", [], (), len(lines)),
                          f"{cell_id}: split {split!r} left out: its test set has no {', '.join(missing)}"))
        elif item.test_speaker is not None:
            speakers.setdefault((target, str(item.test_speaker), tuple(missing)), []).append(item)
        else:
            protocols.setdefault((item.protocol, target, tuple(missing)), []).append(item)
    folds: dict = {}  # (target, speaker) -> the (cell, split) of every fold that tests that speaker
    for r in ok_results(results or []):
        for s in r.splits:
            if s.info.get("test_speaker") is not None:
                folds.setdefault((r.params.target, str(s.info["test_speaker"])), set()).add((r.cell_id, s.name))
    for (target, speaker, missing), items in speakers.items():
        cells = len({i.cell_id for i in items})
        names = sorted({i.split for i in items}, key=natural_key)
        shown = f" ({', '.join(names)})" if len(names) <= 3 else ""
        line = (f"target {target}, speaker {speaker}: its clips have no {', '.join(missing)} — left out of "
                f"{_count(len(items), 'split')}{shown} in {_count(cells, 'cell')}")
        tested = folds.get((target, speaker))
        if tested:
            line += (" (every fold of that speaker)" if len(tested) == len(items)
                     else f" (of the {len(tested)} folds that test that speaker)")
        lines.append(((min(shown_layouts[i.protocol]["order"] for i in items), target, natural_key(speaker), missing, 0), line))
    for (protocol, target, missing), items in protocols.items():
        noun = shown_layouts[protocol]["split_noun"]
        cells = len({i.cell_id for i in items})
        example = min((i.split for i in items), key=natural_key)
        lines.append(((shown_layouts[protocol]["order"], target, [], missing, 0),
                      f"target {target}, {protocol}: the test sets of {_count(len(items), noun)} in "
                      f"{_count(cells, 'cell')} have no {', '.join(missing)} (e.g. {example}) — left out"))
    return [line for _, line in sorted(lines, key=lambda pair: pair[0])]


def describe_left_out(results: list[Result]) -> list[str]:
    """The lines, one per cause, of every split of ``results`` left out of the means
    (:func:`describe_degenerate` of :func:`degenerate_splits`): what boards list and warn about."""
    return describe_degenerate(degenerate_splits(results), results)


def tidy(results: list[Result], include_degenerate: bool = False):
    """One row per split of every successful result: settings, split identity and metrics.

    ``episode_hash`` identifies the target draw and test set of an episode (equal for two methods that
    differ only in what else they fine-tune on); it is empty for results written before it existed.
    Splits whose test set lacks a class (:func:`degenerate_splits`) are left out unless
    ``include_degenerate``.
    """
    import pandas as pd

    ok = ok_results(results)
    labeller = MethodLabeller(ok)
    axes = tuple(dict.fromkeys((*SPLIT_AXES, *breakdown_axes(ok))))
    rows = []
    for r in ok:
        p = r.params
        variant = labeller.variant(p, axes=axes)
        layout = r.layout
        for s in r.splits:
            if not include_degenerate and left_out(r, s):
                continue
            rows.append({
                "cell_id": r.cell_id, "protocol": p.protocol, "loss": p.loss, "variant": variant,
                "encoder": p.encoder, "feature": p.feature, "source": p.source or "",
                "target": p.target, "pair": pair_name(p.source, p.target), "seed": p.seed,
                "labels": ",".join(p.labels), "decision": p.decision, "normalise": p.normalise,
                "tuning_trials": p.trials,
                "split": s.name, "hash": s.hash, "episode_hash": s.episode_hash,
                "k": s.info.get("k"), "frozen": s.info.get("frozen"), "repeat": s.info.get("repeat"),
                "uar": s.metrics.uar, "accuracy": s.metrics.accuracy, "macro_f1": s.metrics.macro_f1,
                **{column: read_measure(s, path) for column, path in SPLIT_MEASURES.items()},
                **{axis: s.info.get(axis) for axis in layout["breakdown"] if axis not in SPLIT_AXES},
                "protocol_order": layout["order"], "protocol_unit": layout["unit"],
                "scoring": "pooled" if r.pooled else "per-split", "speakers": s.speakers,
                "rank_axis": (layout["breakdown"] or [""])[0],
            })
    return pd.DataFrame(rows)


def check_comparable(ok: list) -> None:
    """Refuse results that cannot share one board: none at all, or different label sets."""
    if not ok:
        raise SerBenchError("no successful result files found; run `ser-bench run ...` first")
    label_sets = {tuple(r.params.labels) for r in ok}
    if len(label_sets) > 1:
        raise SerBenchError(f"results use different label sets {sorted(label_sets)}; a leaderboard column "
                            "must compare like with like: put them in separate folders")


def split_rows(results: list):
    """Tidy split rows of the successful results with each row's ``method`` label (degenerate splits out)."""
    ok = ok_results(results)
    check_comparable(ok)
    labeller = MethodLabeller(ok)
    frame = tidy(ok)
    if frame.empty:
        raise SerBenchError("every split of these results was left out (their test sets lack classes of the "
                            "label set): nothing to compare")
    # Row for row with tidy (which leaves out the splits whose test set lacks a class).
    frame["method"] = [labeller.method(r.params) for r in ok for s in r.splits if not left_out(r, s)]
    return ok, frame


def breakdown_table(results: list[Result], axes: tuple = ("k", "frozen")):
    """Tidy rows (one per split) of the protocols that break their results down by every one of ``axes``
    (few-shot: by ``k`` and ``frozen``, one row per episode), those axes as integers."""
    frame = tidy(results)
    if frame.empty:
        return frame
    protocols = [p for p, layout in layouts(ok_results(results)).items() if set(axes) <= set(layout["breakdown"])]
    frame = frame[frame["protocol"].isin(protocols)].copy()
    for axis in axes:
        frame[axis] = frame[axis].astype(int)
    return frame


# Settings that split a method into its own row when they differ between results: a top-level key
# (compared among results of the same loss, so that a loss's own default encoder or head does not label
# every row, and a method keeps one name across protocols), or a nested dict compared among results that
# share a protocol and the plugin it belongs to (loss weights are compared between runs of the same
# loss, not across losses, whose parameters differ by nature, nor between protocols, whose rows are
# apart anyway).
_TOP_LEVEL = ("encoder", "feature", "head", "decision", "normalise")
_NESTED = (  # (params key, compared among results with equal values of, label prefix)
    ("loss_params", ("protocol", "loss"), ""),
    ("pretrain_loss_params", ("protocol", "pretrain_loss"), "pretrain "),
    ("encoder_params", ("protocol", "encoder"), ""),
    ("feature_params", ("protocol", "feature"), ""),  # e.g. the layer of each ssl.layers=all cell
    ("training", ("protocol",), ""),
)


def _differing(results: list[Result], values, within) -> dict:
    """For each group (``within(params)``), the keys of ``values(params)`` that differ between results."""
    seen: dict = {}
    for r in results:
        p = r.params
        seen.setdefault(within(p), []).append(values(p) or {})
    out = {}
    for group, dicts in seen.items():
        keys = sorted({k for d in dicts for k in d})
        out[group] = tuple(k for k in keys if len({json.dumps(d.get(k), sort_keys=True) for d in dicts}) > 1)
    return out


def _off(value) -> bool:
    """A protocol setting that is switched off (0, false, none): it labels only the results where it is on."""
    return value is None or value is False or (isinstance(value, (int, float)) and value == 0)


class MethodLabeller:
    """Row labels for a set of results: protocol · loss, plus whatever else differs between them.

    Results whose settings differ (few-shot with 3 and with 10 repeats, ratio_distance with weight 0.1
    and 1, another learning rate, another pre-training loss, per-speaker normalisation) get their own
    rows, labelled by the settings that differ, rather than being pooled into one mean. A protocol
    option that is off in some results (``source_support=0``) labels only those where it is on.
    """

    def __init__(self, results: list[dict]):
        self.tuning_shown = any(r.params.tuning for r in results)
        self.top = _differing(results, lambda p: {k: p.get(k) for k in _TOP_LEVEL}, lambda p: p.loss)
        # Within one loss: a setting that differs only between losses (a baseline that trains nothing runs
        # few-shot at one frozen-layer setting) does not tell two rows of one loss apart; the header lists it.
        self.protocol = _differing(results, lambda p: p.get("protocol_params"), lambda p: (p.protocol, p.loss))
        self.pretrain = _differing(results, lambda p: {"pretrained with": p.get("pretrain_loss")},
                                   lambda p: (p.protocol, p.loss))
        self.nested = [(key, within, prefix,
                        _differing(results, lambda p, key=key: p.get(key),
                                   lambda p, within=within: tuple(p.get(k) for k in within)))
                       for key, within, prefix in _NESTED]

    def _extras(self, p: dict) -> list[str]:
        extras = [f"{k}={p.get(k)}" for k in self.top.get(p.loss, ())]
        if self.tuning_shown:  # every row says whether it was tuned, and with what budget
            extras.append(f"tuned {p.trials}" if p.trials else ("default" if p.tuning else "all speakers"))
        if self.pretrain.get((p.protocol, p.loss)):
            extras.append(f"pretrained with {p.get('pretrain_loss')}")
        for key, within, prefix, differing in self.nested:
            group = tuple(p.get(k) for k in within)
            extras += [f"{prefix}{k}={_short((p.get(key) or {}).get(k))}" for k in differing.get(group, ())]
        return extras

    def variant(self, p: dict, axes=()) -> str:
        """The loss and its differing settings, leaving out protocol settings named in ``axes`` (those a
        table shows as its own columns, such as few-shot k)."""
        extras = self._extras(p) + self._protocol_extras(p, axes)
        return p.loss + (f" ({', '.join(extras)})" if extras else "")

    def method(self, p: dict) -> str:
        """The full row label: protocol · loss (differing settings, differing protocol settings)."""
        extras = self._extras(p) + self._protocol_extras(p)
        return f"{p.protocol} · {p.loss}" + (f" ({', '.join(extras)})" if extras else "")

    def _protocol_extras(self, p: dict, axes=()) -> list[str]:
        params = p.get("protocol_params") or {}
        return [f"{k}={_short(params.get(k))}" for k in self.protocol.get((p.protocol, p.loss), ())
                if k not in axes and not _off(params.get(k))]


def _short(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def natural_key(text: str) -> list:
    """Sort key that orders numbers by value: weight=3 before weight=10."""
    parts = re.split(r"(\d+(?:\.\d+)?)", text)
    return [float(part) if i % 2 else part for i, part in enumerate(parts)]
