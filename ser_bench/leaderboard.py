"""Leaderboards: a pure function of a results folder -> tidy DataFrame -> markdown/csv/json tables.

A cell that is missing (or failed) shows as a dash, never as a smaller mean over what happens to be
there; results with different label sets are never put in one column.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .errors import SerBenchError
from .evaluation import summarise
from .metrics import mean_ci95

DASH = "–"
# Split settings that tidy rows carry as columns of their own; they never label a method's variant.
SPLIT_AXES = ("k", "frozen")


def tidy(results: list[dict]):
    """One row per split of every successful result: settings, split identity and metrics."""
    import pandas as pd

    ok = [r for r in results if r.get("status") == "ok"]
    labeller = MethodLabeller(ok)
    rows = []
    for r in ok:
        p = r["params"]
        for s in r["splits"]:
            rows.append({
                "cell_id": r["cell_id"], "protocol": p["protocol"], "loss": p["loss"],
                "variant": labeller.variant(p, axes=SPLIT_AXES), "encoder": p["encoder"],
                "feature": p["feature"], "source": p.get("source") or "", "target": p["target"],
                "seed": p["seed"], "labels": ",".join(p["labels"]), "decision": p["decision"],
                "normalise": p["normalise"], "split": s["name"], "hash": s.get("hash"), "k": s["info"].get("k"),
                "frozen": s["info"].get("frozen"), "repeat": s["info"].get("repeat"),
                "uar": s["metrics"]["uar"], "accuracy": s["metrics"]["accuracy"],
                "macro_f1": s["metrics"]["macro_f1"],
            })
    return pd.DataFrame(rows)


# Settings that split a method into its own row when they differ between results: a top-level key,
# or a nested dict compared among results that share a protocol and the plugin it belongs to (loss
# weights are compared between runs of the same loss, not across losses, whose parameters differ by
# nature, nor between protocols, whose rows are apart anyway).
_TOP_LEVEL = ("encoder", "feature", "head", "decision", "normalise")
_NESTED = (  # (params key, compared among results with equal values of, label prefix)
    ("loss_params", ("protocol", "loss"), ""),
    ("pretrain_loss_params", ("protocol", "pretrain_loss"), "pretrain "),
    ("encoder_params", ("protocol", "encoder"), ""),
    ("training", ("protocol",), ""),
)


def _differing(results: list[dict], values, within) -> dict:
    """For each group (``within(params)``), the keys of ``values(params)`` that differ between results."""
    seen: dict = {}
    for r in results:
        p = r["params"]
        seen.setdefault(within(p), []).append(values(p) or {})
    out = {}
    for group, dicts in seen.items():
        keys = sorted({k for d in dicts for k in d})
        out[group] = tuple(k for k in keys if len({json.dumps(d.get(k), sort_keys=True) for d in dicts}) > 1)
    return out


class MethodLabeller:
    """Row labels for a set of results: protocol · loss, plus whatever else differs between them.

    Results whose settings differ (few-shot with 3 and with 10 repeats, ratio_distance with weight 0.1
    and 1, another learning rate, another pre-training loss) get their own rows, labelled by the
    settings that differ, rather than being pooled into one mean.
    """

    def __init__(self, results: list[dict]):
        self.top = [k for k in _TOP_LEVEL if len({str(r["params"].get(k)) for r in results}) > 1]
        self.protocol = _differing(results, lambda p: p.get("protocol_params"), lambda p: p["protocol"])
        self.pretrain = _differing(results, lambda p: {"pretrained with": p.get("pretrain_loss")},
                                   lambda p: (p["protocol"], p["loss"]))
        self.nested = [(key, within, prefix,
                        _differing(results, lambda p, key=key: p.get(key),
                                   lambda p, within=within: tuple(p.get(k) for k in within)))
                       for key, within, prefix in _NESTED]

    def _extras(self, p: dict) -> list[str]:
        extras = [str(p.get(k)) for k in self.top]
        if self.pretrain.get((p["protocol"], p["loss"])):
            extras.append(f"pretrained with {p.get('pretrain_loss')}")
        for key, within, prefix, differing in self.nested:
            group = tuple(p.get(k) for k in within)
            extras += [f"{prefix}{k}={_short((p.get(key) or {}).get(k))}" for k in differing.get(group, ())]
        return extras

    def variant(self, p: dict, axes=()) -> str:
        """The loss and its differing settings, leaving out protocol settings named in ``axes`` (those a
        table shows as its own columns, such as few-shot k)."""
        extras = self._extras(p) + self._protocol_extras(p, axes)
        return p["loss"] + (f" ({', '.join(extras)})" if extras else "")

    def method(self, p: dict) -> str:
        """The full row label: protocol · loss (differing settings, differing protocol settings)."""
        extras = self._extras(p) + self._protocol_extras(p)
        return f"{p['protocol']} · {p['loss']}" + (f" ({', '.join(extras)})" if extras else "")

    def _protocol_extras(self, p: dict, axes=()) -> list[str]:
        return [f"{k}={_short(p['protocol_params'].get(k))}" for k in self.protocol.get(p["protocol"], ())
                if k not in axes]


def _short(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _fmt(mean: float, lo: float, hi: float) -> str:
    if np.isnan(mean):
        return DASH
    if np.isnan(lo):
        return f"{100 * mean:.1f}"
    return f"{100 * mean:.1f} ± {100 * (hi - lo) / 2:.1f}"


def summary_table(results: list[dict]):
    """Rows: method (protocol · loss); columns: ``source → target``; cells: UAR % mean ± 95 % CI half-width.

    Cells of the same settings and different seeds are pooled (units = seed x repeat, or seed x fold).
    Protocols without a source (IDT) fill every source column of their target, as in the paper's Table 1.
    """
    import pandas as pd

    ok = [r for r in results if r.get("status") == "ok"]
    if not ok:
        raise SerBenchError("no successful result files found; run `ser-bench run ...` first")
    label_sets = {tuple(r["params"]["labels"]) for r in ok}
    if len(label_sets) > 1:
        raise SerBenchError(f"results use different label sets {sorted(label_sets)}; a leaderboard column "
                            "must compare like with like: put them in separate folders")
    labeller = MethodLabeller(ok)
    groups: dict = {}
    for r in ok:
        p = r["params"]
        groups.setdefault((labeller.method(p), p.get("source") or "", p["target"]), []).append(r)
    pairs = sorted({(s, t) for (_, s, t) in groups if s})
    pairs += sorted({("", t) for (_, _, t) in groups} - {("", t) for (_, t) in pairs})
    methods = sorted({m for (m, _, _) in groups}, key=_method_order)
    table = pd.DataFrame(DASH, index=methods, columns=[_column(s, t) for s, t in pairs])
    for (method, source, target), cells in groups.items():
        splits = [dict(s, info={**s["info"], "repeat": (c["params"]["seed"], s["info"].get("repeat", s["name"]))})
                  for c in cells for s in c["splits"]]
        summary = summarise(splits)
        text = _fmt(summary["uar"], *summary["uar_ci95"])
        for s, t in pairs:
            if t == target and (s == source or not source):
                table.loc[method, _column(s, t)] = text
    table.index.name = "method"
    return table


def _column(source: str, target: str) -> str:
    return f"{source} → {target}" if source else f"{DASH} → {target}"


def natural_key(text: str) -> list:
    """Sort key that orders numbers by value: weight=3 before weight=10."""
    parts = re.split(r"(\d+(?:\.\d+)?)", text)
    return [float(part) if i % 2 else part for i, part in enumerate(parts)]


def _method_order(method: str):
    order = {"oodt": 0, "fewshot": 1, "idt": 2}
    return (order.get(method.split(" · ")[0], 1), natural_key(method))


def fewshot_by_k(results: list[dict]):
    """UAR % by number of target speakers k (columns) for each source → target, loss and frozen layers."""
    frame = tidy(results)
    if frame.empty or "fewshot" not in set(frame["protocol"]):
        return None
    frame = frame[frame["protocol"] == "fewshot"]
    frame = frame.assign(setting=frame["source"] + " → " + frame["target"], frozen=frame["frozen"].astype(int),
                         k=frame["k"].astype(int))
    means = frame.groupby(["setting", "variant", "frozen", "k"])["uar"].mean().mul(100).round(1).unstack("k")
    means = means.loc[sorted(means.index, key=lambda row: (row[0], natural_key(row[1]), row[2]))]
    return means.rename_axis(index={"variant": "loss"})


def fewshot_by_k_markdown(results: list[dict]) -> str:
    """:func:`fewshot_by_k` as a markdown table, a dash where a setting has no result; "" if no few-shot."""
    by_k = fewshot_by_k(results)
    if by_k is None:
        return ""
    frame = by_k.reset_index()
    return frame.astype(object).where(frame.notna(), None).to_markdown(index=False, missingval=DASH)


def settings_header(results: list[dict]) -> list[str]:
    """Bullet lines stating the settings every number depends on."""
    ok = [r for r in results if r.get("status") == "ok"]
    lines = []
    protocols: dict = {}
    for r in ok:
        protocols.setdefault(r["params"]["protocol"], set()).add(json.dumps(r["params"]["protocol_params"],
                                                                            sort_keys=True))
    for name, settings in sorted(protocols.items()):
        lines.append(f"- protocol `{name}`: " + "; ".join(f"`{s}`" for s in sorted(settings)))
    for key in ("labels", "feature", "encoder", "pretrain_loss", "head", "decision", "normalise"):
        values = sorted({json.dumps(r["params"].get(key)) if isinstance(r["params"].get(key), (list, dict))
                         else str(r["params"].get(key, "siamese" if key == "head" else "")) for r in ok})
        lines.append(f"- {key}: {', '.join(values)}")
    loss_params = sorted({f'{r["params"]["loss"]} {json.dumps(r["params"].get("loss_params") or {}, sort_keys=True)}'
                          for r in ok})
    lines.append(f"- loss parameters: {'; '.join(loss_params)}")
    trainings = sorted({json.dumps(r["params"]["training"], sort_keys=True) for r in ok})
    lines.append(f"- training: {'; '.join(trainings)}")
    seeds = sorted({r["params"]["seed"] for r in ok})
    lines.append(f"- seeds: {', '.join(map(str, seeds))}; result files: {len(ok)}"
                 + (f" ({len(results) - len(ok)} not ok, shown as {DASH})" if len(results) > len(ok) else ""))
    return lines


def to_markdown(results: list[dict], title: str = "ser-bench leaderboard", paired: str | None = None) -> str:
    """The full markdown leaderboard: settings, the summary table and the few-shot breakdown by k.

    With ``paired`` (a method name as it appears in the few-shot table, e.g. ``bce_pair``), every other
    few-shot method is also compared with it on identical episodes (Wilcoxon signed-rank test).
    """
    table = summary_table(results)
    parts = [f"# {title}", "",
             "UAR in % (unweighted average recall), mean ± half-width of the 95 % t-interval over repeats "
             "(few-shot) or held-out speakers (IDT); a single figure has no interval; "
             f"{DASH} = no result for that cell.", "", *settings_header(results), "",
             table.to_markdown(), ""]
    by_k = fewshot_by_k_markdown(results)
    if by_k:
        parts += ["## Few-shot UAR % by number of target speakers k", "", by_k, ""]
    if paired:
        from .analysis import paired_against, paired_markdown

        rows = paired_against(results, paired)
        parts += [f"## Against {paired}, paired on identical episodes", "",
                  *(paired_markdown(rows) if rows else ["No other method shares episodes with it."]), ""]
    return "\n".join(parts)


def render(folder: Path, fmt: str = "markdown", paired: str | None = None) -> str:
    """The leaderboard of ``folder`` as ``markdown``, ``csv`` (summary table) or ``json`` (tidy rows).

    ``paired`` (markdown only) adds paired comparisons against that method; see :func:`to_markdown`.
    """
    from .results import load_results

    results = load_results(folder)
    if not results:
        raise SerBenchError(f"no result files under {Path(folder).resolve()}")
    if paired and fmt != "markdown":
        raise SerBenchError("--paired adds a section to the markdown leaderboard; drop --format or --paired")
    if fmt == "markdown":
        return to_markdown(results, paired=paired)
    if fmt == "csv":
        return summary_table(results).to_csv()
    if fmt == "json":
        return tidy(results).to_json(orient="records", indent=1)
    raise SerBenchError(f"unknown format {fmt!r}: use markdown, csv or json")


__all__ = ["tidy", "summary_table", "fewshot_by_k", "fewshot_by_k_markdown", "to_markdown", "render", "mean_ci95"]
