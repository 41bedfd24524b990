#!/usr/bin/env python3
"""Rerun the side-by-side comparison of ser-bench and nkululeko on real RAVDESS (issue 12).

The job on both sides: RAVDESS speech, the four emotions anger, happiness, sadness and fear (768 clips),
24-fold leave-one-speaker-out, UAR. nkululeko runs its eGeMAPS + SVM LOSO experiment (an INI written
here, a CSV database of the same 768 clips with one fold per speaker); ser-bench runs ``--protocol idt``:

* ``cold``: empty feature caches on both sides; ser-bench ``egemaps`` + ``softmax_mlp`` (its default
  linear head);
* ``cached-bce-pair``: features cached, models retrained; ser-bench ``is09-64`` + ``bce_pair``;
* ``cached-cross-entropy``: features cached, models retrained; ser-bench ``egemaps`` + ``cross_entropy``.

In the two cached rows nkululeko runs its same eGeMAPS + SVM job with its feature store filled. Each
repetition runs ser-bench, then nkululeko (A, B, A, B, ...), each in a fresh results folder, and times
the whole command from outside (process start and imports included). ser-bench never reuses a trained
model: its model cache is emptied before every run (and ``--no-model-cache`` is passed where ``ser-bench
run`` has it). Untimed warm-up runs fill the feature caches first. Printed: a markdown table of medians;
written: a JSON file with every run, the machine and both tools' versions, and a CSV of every timing.

nkululeko is heavy and optional; it lives in its own virtual environment (``.venv-nkululeko``)::

    .venv/bin/python scripts/compare_nkululeko.py --setup --repeats 3    # creates the venv, then runs
    .venv/bin/python scripts/compare_nkululeko.py --only ser-bench       # without nkululeko

The setup installs ``torch==2.13.0`` first (``--torch-spec``; on the project's build machines a local CPU
wheel) so that accelerate's bare torch requirement does not pull a multi-GB CUDA build, then
``nkululeko==1.14.1``.

What differs between the two sides (read the table with these in mind):

* the models: nkululeko fits one RBF SVM per fold (C = 1, ``probability=True``, which adds an internal
  5-fold calibration); ser-bench trains one small network per fold (``--seed 0``: one model per fold as
  nkululeko, where ser-bench's default would train three seeds). Rows 2 and 3 change ser-bench's method
  (row 2 also its features: is09-64), never nkululeko's;
* normalisation: nkululeko's z-scores are fitted once on the train part of a random speaker split
  (22 of 24 speakers, drawn afresh in a cold run, reused from its store when cached) and applied to every
  fold, so most test speakers take part in them, and its UAR moves a little from cold run to cold run;
  ser-bench fits them on each fold's training speakers;
* UAR: nkululeko's is over the pooled predictions of all folds, ser-bench's the mean over held-out
  speakers; equal here because every speaker has 8 clips of each emotion;
* side work, left at each tool's defaults: nkululeko saves its model and experiment and draws a
  confusion matrix; ser-bench prints its leaderboard. "Features cached" on nkululeko's side reuses its
  whole store (features and the split tables).
"""
from __future__ import annotations

import argparse
import configparser
import csv
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NKULULEKO_VERSION = "1.14.1"
TORCH_SPEC = "torch==2.13.0"
DEFAULT_VENV = REPO / ".venv-nkululeko"
DEFAULT_RAVDESS = REPO.parent / "shared" / "data" / "ravdess-16k"
DEFAULT_OUT = REPO / "build" / "compare-nkululeko"
# RAVDESS emotion codes of the four emotions, named as ser-bench's common vocabulary names them.
EMOTIONS = {"05": "anger", "03": "happiness", "04": "sadness", "06": "fear"}
LABELS = tuple(EMOTIONS.values())
ALL_CODES = {f"{c:02d}" for c in range(1, 9)}
SIDES = ("ser-bench", "nkululeko")
NK_NAME = "ravdess_loso"  # nkululeko's experiment name: its folder under the experiment root


class CompareError(Exception):
    """A problem the user can fix; main() prints it and exits with status 2."""


@dataclass(frozen=True)
class Job:
    """One row of the table: what ser-bench runs, and whether caches start empty."""

    name: str
    title: str
    feature: str
    loss: str
    cold: bool


JOBS = (
    Job("cold", "cold, eGeMAPS + softmax MLP + linear head", "egemaps", "softmax_mlp", True),
    Job("cached-bce-pair", "features cached, models retrained, is09-64 + bce_pair", "is09-64", "bce_pair", False),
    Job("cached-cross-entropy", "features cached, models retrained, eGeMAPS + cross_entropy", "egemaps",
        "cross_entropy", False),
)


# ----------------------------------------------------------------------------------------------- data

@dataclass(frozen=True)
class Clip:
    path: Path
    speaker: str
    emotion: str


def find_ravdess(path) -> Path:
    """The RAVDESS folder, or an error that names ``--ravdess``."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise CompareError(f"RAVDESS not found at {root}: pass --ravdess DIR, a folder of "
                           "Actor_XX/03-01-EE-II-SS-RR-AA.wav (or .flac) files")
    return root.resolve()


def parse_ravdess_name(path: Path):
    """(speaker, emotion) of a RAVDESS speech clip of the four emotions; None for song and other emotions."""
    parts = path.stem.split("-")
    if len(parts) != 7 or not all(len(p) == 2 and p.isdigit() for p in parts):
        raise CompareError(f"not a RAVDESS file name: {path} (expected Actor_XX/03-01-EE-II-SS-RR-AA.wav)")
    _, channel, emotion, _, _, _, actor = parts
    if emotion not in ALL_CODES or channel not in ("01", "02"):
        raise CompareError(f"not a RAVDESS file name: {path} (emotion 01-08, vocal channel 01 or 02)")
    if channel != "01" or emotion not in EMOTIONS:  # song clips and the other four emotions are not used
        return None
    return actor, EMOTIONS[emotion]


def clip_table(root: Path) -> list[Clip]:
    """The clips both tools use: RAVDESS speech of the four emotions, every .wav/.flac at any depth."""
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in {".wav", ".flac"}
                   and not p.name.startswith(".") and p.is_file())
    clips = []
    for path in files:
        fields = parse_ravdess_name(path)
        if fields:
            clips.append(Clip(path.resolve(), *fields))
    if not clips:
        raise CompareError(f"no RAVDESS speech clips of {', '.join(EMOTIONS.values())} under {root}: "
                           "pass --ravdess DIR")
    return clips


def write_clip_csv(clips: list[Clip], path: Path) -> Path:
    """nkululeko's csv database: file (absolute), speaker, emotion, and fold = speaker, so that its
    leave-one-group-out uses exactly one speaker per fold (without the column it draws random groups)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["file", "speaker", "emotion", "fold"])
        for c in clips:
            out.writerow([str(c.path), c.speaker, c.emotion, c.speaker])
    return path


def same_clips_as_ser_bench(clips: list[Clip], root: Path) -> dict:
    """Check the clip list against ser-bench's own RAVDESS loader (when importable here)."""
    try:
        from ser_bench_plugins.datasets import ravdess
    except ImportError as exc:
        return {"checked": False, "why": f"ser-bench not importable here: {exc}"}
    manifest = ravdess.read_tree(root)
    manifest = manifest[manifest["emotion"].isin(list(EMOTIONS.values()))]
    theirs = {(str(Path(p).resolve()), s, e) for p, s, e in zip(manifest["path"], manifest["speaker"],
                                                               manifest["emotion"])}
    ours = {(str(c.path), c.speaker, c.emotion) for c in clips}
    if theirs != ours:
        raise CompareError(f"the clip list differs from ser-bench's RAVDESS loader: {len(ours - theirs)} clips "
                           f"only here, {len(theirs - ours)} only in ser-bench")
    return {"checked": True, "clips": len(ours)}


# ------------------------------------------------------------------------------------------ nkululeko

def nkululeko_ini(csv_path: Path, root: Path, labels=LABELS, folds: int = 24) -> str:
    """nkululeko's experiment: the csv database, eGeMAPSv02 functionals (openSMILE), features z-scored,
    an SVM (its defaults: RBF kernel, C = 1), leave-one-group-out with one group per speaker.

    ``split_strategy = speaker_split`` with ``test_size = 10`` is how nkululeko's documentation sets up
    LOSO: LOGO then ignores the split, but the scaler is fitted on the split's train part (22 of 24
    speakers), so most test speakers take part in the z-scores; ser-bench fits them per fold.
    """
    config = configparser.ConfigParser()
    config["EXP"] = {"root": f"{root}/", "name": NK_NAME, "runs": "1", "epochs": "1"}
    config["DATA"] = {
        "databases": "['ravdess']", "ravdess": str(csv_path), "ravdess.type": "csv",
        "ravdess.absolute_path": "True", "ravdess.split_strategy": "speaker_split", "ravdess.test_size": "10",
        "target": "emotion", "labels": repr(list(labels)),
    }
    config["FEATS"] = {"type": "['os']", "set": "eGeMAPSv02", "scale": "standard"}
    config["MODEL"] = {"type": "svm", "logo": str(folds)}
    lines = []
    for section in config.sections():
        lines.append(f"[{section}]")
        lines += [f"{key} = {value}" for key, value in config[section].items()]
        lines.append("")
    return "\n".join(lines)


def nkululeko_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def nkululeko_version(venv: Path):
    """nkululeko's version in ``venv``, or None when it is not installed there."""
    python = nkululeko_python(venv)
    if not python.exists():
        return None
    code = "import importlib.metadata as m; print(m.version('nkululeko'))"
    done = subprocess.run([str(python), "-c", code], check=False, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def setup_commands(venv: Path, torch_spec: str = TORCH_SPEC, base_python: str = sys.executable) -> list[list[str]]:
    """Create the venv; torch first (a local CPU wheel here) so that nothing pulls a CUDA build; nkululeko."""
    pip = [str(nkululeko_python(venv)), "-m", "pip", "install"]
    return [[base_python, "-m", "venv", str(venv)],
            pip + [torch_spec],
            pip + [f"nkululeko=={NKULULEKO_VERSION}", torch_spec]]


def setup_nkululeko(venv: Path, torch_spec: str = TORCH_SPEC) -> None:
    if nkululeko_version(venv) == NKULULEKO_VERSION:
        log(f"nkululeko {NKULULEKO_VERSION} already in {venv}")
        return
    for command in setup_commands(venv, torch_spec):
        if command[1:3] == ["-m", "venv"] and nkululeko_python(venv).exists():
            continue
        log("$ " + " ".join(command))
        # pip's output goes to stderr: stdout carries only the table
        if subprocess.run(command, check=False, stdout=sys.stderr).returncode != 0:
            raise CompareError(f"setup failed at: {' '.join(command)}")


def missing_nkululeko_message(venv: Path) -> str:
    return (f"nkululeko {NKULULEKO_VERSION} is not installed in {venv}. Get it with\n"
            f"    scripts/compare_nkululeko.sh --setup\n"
            f"(creates that venv, installs {TORCH_SPEC} first, then nkululeko=={NKULULEKO_VERSION}; "
            f"--nkululeko-venv DIR puts it elsewhere), or run only the ser-bench half with --only ser-bench")


def parse_nkululeko_results(exp_dir: Path) -> dict:
    """UAR of a finished nkululeko experiment folder (``<root>/<name>``).

    The UAR is the recall's macro average in the report of the last epoch
    (``results/run_0/*_last_*.txt``, a JSON classification report followed by text), over the pooled
    predictions of all folds; ``logo_results.txt`` holds one UAR per fold, in fold order.
    """
    run_dir = Path(exp_dir) / "results" / "run_0"
    reports = sorted(run_dir.glob("*_last_*.txt"))
    if not reports:
        raise CompareError(f"no nkululeko result file (*_last_*.txt) in {run_dir}")
    text = reports[-1].read_text()
    report, _ = json.JSONDecoder().raw_decode(text[text.index("{"):])
    out = {"uar": float(report["macro avg"]["recall"]), "clips": int(report["macro avg"]["support"]),
           "result_file": str(reports[-1])}
    logo = run_dir / "logo_results.txt"
    if logo.exists():
        out["fold_uars"] = parse_logo_results(logo.read_text())
    return out


def parse_logo_results(text: str) -> list[float]:
    """The per-fold UARs of nkululeko's ``logo_results.txt`` (``LOGO results: [0.65, 0.75, ...]``)."""
    found = re.search(r"LOGO results:\s*\[([^\]]*)\]", text)
    if not found:
        raise CompareError("no 'LOGO results: [...]' line in nkululeko's logo_results.txt")
    return [float(v) for v in found.group(1).split(",") if v.strip()]


# ------------------------------------------------------------------------------------------ ser-bench

def ser_bench_command(ser_bench: str, job: Job, ravdess: Path, cache_dir: Path, results: Path,
                      seeds: str = "0", no_model_cache_flag: bool = False) -> list[str]:
    command = [ser_bench, "-q", "run", "--protocol", "idt", "--target", "ravdess",
               "--corpus-path", f"ravdess={ravdess}", "--feature", job.feature, "--loss", job.loss,
               "--labels", ",".join(EMOTIONS.values()), "--seed", seeds,
               "--cache-dir", str(cache_dir), "--results", str(results)]
    return command + (["--no-model-cache"] if no_model_cache_flag else [])


def parse_ser_bench_results(results: Path) -> dict:
    """UAR (mean over the result files, one per seed) and per-speaker UARs of a ser-bench results folder."""
    files = sorted(Path(results).glob("*.json"))
    if not files:
        raise CompareError(f"no ser-bench result file in {results}")
    uars, folds, data = [], {}, {}
    for path in files:
        record = json.loads(path.read_text())
        if "cell_id" not in record:  # not a result file
            continue
        uars.append(float(record["summary"]["uar"]))
        data = record["data"]["target"]
        for split in record["splits"]:
            folds.setdefault(split["info"]["test_speaker"], []).append(float(split["metrics"]["uar"]))
    if not uars:
        raise CompareError(f"no ser-bench result file in {results}")
    return {"uar": statistics.fmean(uars), "files": len(uars), "clips": data.get("clips_used"),
            "speakers": data.get("speakers"), "models_from_cache": None,
            "fold_uars": {s: statistics.fmean(v) for s, v in sorted(folds.items())}}


def models_from_cache(results: Path) -> int:
    return sum(int(json.loads(p.read_text())["timings"].get("models_from_cache", 0))
               for p in Path(results).glob("*.json"))


def has_no_model_cache_flag(ser_bench: str) -> bool:
    done = subprocess.run([ser_bench, "run", "--help"], check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise CompareError(f"`{ser_bench} run --help` failed: {done.stderr.strip()[-500:]}")
    return "--no-model-cache" in done.stdout


def find_ser_bench(given=None) -> str:
    candidates = [given] if given else [str(Path(sys.executable).with_name("ser-bench")), shutil.which("ser-bench")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise CompareError("no ser-bench executable found: install ser-bench (make setup) or pass --ser-bench PATH")


# ---------------------------------------------------------------------------------------------- plan

def plan(jobs, repeats: int, sides) -> list[tuple]:
    """(job, repetition, side) in run order: per job, A B A B ... (ser-bench first)."""
    return [(job, rep, side) for job in jobs for rep in range(repeats) for side in SIDES if side in sides]


def tool_env() -> dict:
    """The environment for both tools: without SER_BENCH_* variables, so no config or cache leaks in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SER_BENCH_")}


def timed(command: list[str], cwd: Path, log_file: Path) -> dict:
    """Run ``command``; its wall time measured from outside, its children's CPU time, exit status."""
    import resource

    cwd.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log_file, "w") as out:
        start = time.perf_counter()
        rc = subprocess.run(command, check=False, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                            env=tool_env()).returncode
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "rc": rc, "load1_before": load, "log": str(log_file)}


def tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


class Comparison:
    """Runs the plan in ``work``: fresh folders per run, warm-ups before the cached rows."""

    def __init__(self, args, clips: list[Clip], sides, runner=timed):
        self.args, self.clips, self.sides, self.runner = args, clips, sides, runner
        self.work = Path(args.work)
        self.csv_path = write_clip_csv(clips, self.work / "ravdess-4emotions.csv")
        self.ser_bench = find_ser_bench(args.ser_bench) if "ser-bench" in sides else None
        self.no_model_cache_flag = has_no_model_cache_flag(self.ser_bench) if self.ser_bench else False
        self.nk_python = str(nkululeko_python(Path(args.nkululeko_venv)))
        self.warm_cache = self.work / "ser-bench-cache"
        self.warm_nk = self.work / "nkululeko-warm"
        self.warmed: set = set()
        self.records: list[dict] = []

    def run(self, jobs) -> list[dict]:
        for job, rep, side in plan(jobs, self.args.repeats, self.sides):
            if not job.cold:
                self.warm_up(job, side)
            self.records.append(self.one(job, rep, side, "timed"))
        return self.records

    def warm_up(self, job: Job, side: str) -> None:
        key = (side, job.feature) if side == "ser-bench" else (side,)
        if key in self.warmed:
            return
        self.warmed.add(key)
        log(f"warm-up ({side}, {job.feature if side == 'ser-bench' else 'eGeMAPS'}): filling the feature cache")
        self.records.append(self.one(job, 0, side, "warm-up"))

    def one(self, job: Job, rep: int, side: str, kind: str) -> dict:
        if kind == "warm-up":
            folder = self.work / (f"warm-up-{side}-{job.feature}" if side == "ser-bench" else f"warm-up-{side}")
        else:
            folder = self.work / f"{job.name}-{rep + 1}-{side}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        record = {"job": job.name, "repetition": rep + 1, "side": side, "kind": kind}
        if side == "ser-bench":
            cache = folder / "cache" if job.cold else self.warm_cache
            shutil.rmtree(cache / "models", ignore_errors=True)  # models always retrained
            command = ser_bench_command(self.ser_bench, job, self.args.ravdess, cache, folder / "results",
                                        self.args.seed, self.no_model_cache_flag)
        else:
            root = self.warm_nk if kind == "warm-up" else folder / "nkululeko"
            if kind == "warm-up":
                shutil.rmtree(root, ignore_errors=True)
            elif not job.cold:  # a fresh experiment folder whose feature store is the warm one's
                shutil.copytree(self.warm_nk / NK_NAME / "store", root / NK_NAME / "store")
            ini = folder / "exp.ini"
            ini.write_text(nkululeko_ini(self.csv_path, root, folds=len({c.speaker for c in self.clips})))
            command = [self.nk_python, "-m", "nkululeko.nkululeko", "--config", str(ini)]
        log(f"{kind} {job.name} #{rep + 1} {side}: {' '.join(command)}")
        record.update(self.runner(command, folder, folder / "output.log"))
        record["command"] = command
        if record["rc"] != 0:
            raise CompareError(f"{side} failed (exit {record['rc']}) in {job.name}; last lines of "
                               f"{record['log']}:\n{tail(record['log'])}")
        if side == "ser-bench":
            record.update(parse_ser_bench_results(folder / "results"))
            record["models_from_cache"] = models_from_cache(folder / "results")
        else:
            record.update(parse_nkululeko_results(root / NK_NAME))
            output = Path(record["log"]).read_text(errors="replace")
            record["features_from_cache"] = "Reusing extracted OpenSMILE features" in output
        log(f"    {record['wall_s']:.1f} s, UAR {100 * record['uar']:.1f}")
        return record


# -------------------------------------------------------------------------------------------- report

def summarise(records: list[dict], jobs=JOBS) -> list[dict]:
    """One row per job: median wall time and UAR of each side's timed runs, and the ratio of medians."""
    rows = []
    for job in jobs:
        row = {"job": job.name, "title": job.title}
        for side in SIDES:
            runs = [r for r in records if r["job"] == job.name and r["side"] == side and r["kind"] == "timed"]
            row[side] = ({"n": len(runs), "median_s": statistics.median(r["wall_s"] for r in runs),
                          "uar": statistics.median(r["uar"] for r in runs),
                          "uar_range": [min(r["uar"] for r in runs), max(r["uar"] for r in runs)]}
                         if runs else None)
        if row["ser-bench"] or row["nkululeko"]:
            a, b = row["ser-bench"], row["nkululeko"]
            row["ratio"] = a["median_s"] / b["median_s"] if a and b else None
            rows.append(row)
    return rows


def _uar(side) -> str:
    if not side:
        return "–"
    low, high = side["uar_range"]
    spread = f" ({100 * low:.1f}–{100 * high:.1f})" if round(100 * low, 1) != round(100 * high, 1) else ""
    return f"{100 * side['uar']:.1f}{spread}"


def _ratio(ratio) -> str:
    if ratio is None:
        return "–"
    return f"{ratio:.2f} ({'slower' if ratio > 1 else 'faster' if ratio < 1 else 'equal'})"


def render_table(rows: list[dict]) -> str:
    """The markdown table: medians of wall seconds, the ratio ser-bench / nkululeko, each side's UAR %."""
    n = max((row[s]["n"] for row in rows for s in SIDES if row[s]), default=0)
    lines = ["| job | ser-bench s | nkululeko s | ser-bench / nkululeko | UAR ser-bench | UAR nkululeko |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        secs = [f"{row[s]['median_s']:.1f}" if row[s] else "–" for s in SIDES]
        lines.append(f"| {row['title']} | {secs[0]} | {secs[1]} | {_ratio(row['ratio'])} | "
                     f"{_uar(row['ser-bench'])} | {_uar(row['nkululeko'])} |")
    lines.append("")
    lines.append(f"Wall seconds, median of {n} run(s) per cell, whole command timed from outside; UAR in %, "
                 "median (range when runs differ); nkululeko: eGeMAPS + SVM in every row.")
    return "\n".join(lines)


def machine_info() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu_model": model, "cores_usable": cores, "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "load_average_at_start": list(os.getloadavg())}


def versions(ser_bench, venv: Path, sides) -> dict:
    out = {}
    if ser_bench:
        python = Path(ser_bench).with_name("python")
        out["ser-bench"] = _package_versions(str(python) if python.exists() else sys.executable,
                                             ["ser-bench", "torch", "opensmile", "scikit-learn"])
        git = ["git", "-C", str(REPO)]
        commit = subprocess.run([*git, "rev-parse", "HEAD"], check=False, capture_output=True, text=True)
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], check=False,
                               capture_output=True, text=True)
        out["ser-bench"]["git_commit"] = commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    if "nkululeko" in sides:
        out["nkululeko"] = _package_versions(str(nkululeko_python(venv)),
                                             ["nkululeko", "torch", "opensmile", "scikit-learn"])
    return out


def _package_versions(python: str, names) -> dict:
    code = ("import importlib.metadata as m, json, sys\n"
            "v = {}\nfor n in sys.argv[1:]:\n    try: v[n] = m.version(n)\n    except Exception: v[n] = None\n"
            "print(json.dumps(v))")
    done = subprocess.run([python, "-c", code, *names], check=False, capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr.strip()[-300:]}


def fold_check(records: list[dict], clips: list[Clip]) -> dict:
    """Both sides saw every clip and held out each speaker once: counts from their own result files."""
    speakers = sorted({c.speaker for c in clips})
    check = {"clips": len(clips), "speakers": len(speakers)}
    for r in records:
        if r["side"] == "ser-bench":
            ok = r["clips"] == len(clips) and sorted(r["fold_uars"]) == speakers
        else:
            ok = r["clips"] == len(clips) and len(r.get("fold_uars", [])) == len(speakers)
        check.setdefault(r["side"], True)
        check[r["side"]] = check[r["side"]] and ok
    return check


def write_outputs(out: Path, payload: dict, table: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare-nkululeko.json").write_text(json.dumps(payload, indent=1, default=str) + "\n")
    (out / "compare-nkululeko.md").write_text(table + "\n")
    fields = ["job", "side", "kind", "repetition", "wall_s", "cpu_s", "uar", "load1_before", "rc"]
    with open(out / "compare-nkululeko-timings.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(payload["runs"])


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ravdess", default=str(DEFAULT_RAVDESS), help="RAVDESS folder (default: %(default)s)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per side and job (default 3)")
    p.add_argument("--only", choices=SIDES, help="run one side only")
    p.add_argument("--jobs", default=",".join(j.name for j in JOBS), help="comma-separated (default: all)")
    p.add_argument("--setup", action="store_true", help=f"create the nkululeko venv ({TORCH_SPEC} first, then "
                   f"nkululeko=={NKULULEKO_VERSION}) before running")
    p.add_argument("--setup-only", action="store_true", help="create the nkululeko venv and stop")
    p.add_argument("--torch-spec", default=TORCH_SPEC, help="torch requirement installed first (default %(default)s)")
    p.add_argument("--nkululeko-venv", default=str(DEFAULT_VENV), help="(default: %(default)s)")
    p.add_argument("--ser-bench", help="the ser-bench executable (default: beside this Python, else on PATH)")
    p.add_argument("--seed", default="0", help="ser-bench seed(s): one model per fold, as nkululeko (default 0)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="where the table, JSON and CSV go (default %(default)s)")
    p.add_argument("--work", help="scratch folder for caches and runs (default OUT/work, removed unless --keep-work)")
    p.add_argument("--keep-work", action="store_true", help="keep the scratch folder (logs, result files)")
    p.add_argument("--dry-run", action="store_true", help="check the inputs, print the run order and stop")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    names = {j.name: j for j in JOBS}
    unknown = [n for n in args.jobs.split(",") if n not in names]
    if unknown:
        p.error(f"unknown job(s) {', '.join(unknown)}; known: {', '.join(names)}")
    args.job_list = [names[n] for n in args.jobs.split(",")]
    args.work = Path(args.work) if args.work else Path(args.out) / "work"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        venv = Path(args.nkululeko_venv)
        if args.setup or args.setup_only:
            setup_nkululeko(venv, args.torch_spec)
            if args.setup_only:
                return 0
        args.ravdess = find_ravdess(args.ravdess)
        sides = (args.only,) if args.only else SIDES
        if "nkululeko" in sides and nkululeko_version(venv) is None:
            raise CompareError(missing_nkululeko_message(venv))
        clips = clip_table(args.ravdess)
        speakers = sorted({c.speaker for c in clips})
        log(f"{len(clips)} clips, {len(speakers)} speakers, "
            f"{len({c.emotion for c in clips})} emotions from {args.ravdess}")
        if args.dry_run:
            for job, rep, side in plan(args.job_list, args.repeats, sides):
                print(f"{job.name}\t{rep + 1}\t{side}")
            return 0
        same = same_clips_as_ser_bench(clips, args.ravdess)
        machine = machine_info()  # before the runs: the load average says how quiet the machine was
        comparison = Comparison(args, clips, sides)
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        records = comparison.run(args.job_list)
        rows = summarise(records, args.job_list)
        table = render_table(rows)
        payload = {
            "started": started, "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": machine | {"load_average_at_end": list(os.getloadavg())},
            "versions": versions(comparison.ser_bench, venv, sides),
            "settings": {"ravdess": str(args.ravdess), "repeats": args.repeats, "sides": list(sides),
                         "ser_bench_seed": args.seed, "labels": list(EMOTIONS.values()),
                         "ser_bench_no_model_cache_flag": comparison.no_model_cache_flag,
                         "ser_bench_model_cache": "emptied before every run",
                         "nkululeko_ini": nkululeko_ini(comparison.csv_path, Path("<root>"), folds=len(speakers))},
            "checks": {"same_clips_as_ser_bench_loader": same,
                       "folds": fold_check([r for r in records if r["kind"] == "timed"], clips)},
            "table": rows, "runs": records,
        }
        write_outputs(Path(args.out), payload, table)
        if not args.keep_work:
            shutil.rmtree(args.work, ignore_errors=True)
        print(table)
        log(f"every run: {Path(args.out) / 'compare-nkululeko.json'} and compare-nkululeko-timings.csv")
        return 0
    except CompareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
