"""Fixtures of the hostile-input catalogue: small hand-made RAVDESS-layout trees (tones written with
soundfile, no speech synthesis, a second to build and extract) and a run over them in one call."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ser_bench.plugin_api.context import RunContext
from ser_bench.running.grid import Grid, expand
from ser_bench.running.runner import run

RATE = 16000
EMOTION_CODES = {"anger": "05", "sadness": "04", "fear": "06"}
LABELS = ("anger", "sadness")


def clip_name(actor: int, emotion: str, k: int) -> str:
    """A RAVDESS name: intensity and statement spell out ``k`` (0-3)."""
    return (f"Actor_{actor:02d}/03-01-{EMOTION_CODES[emotion]}-0{k // 2 + 1}-0{k % 2 + 1}-01-{actor:02d}.wav")


def write_tree(root: Path, actors=(1, 2, 3), emotions=LABELS, clips=4) -> Path:
    """``root`` holding ``clips`` half-second tones per actor and emotion (pitch by emotion, noise by
    clip), deterministic, so that feature-cache entries are shared between tests."""
    for actor in actors:
        for e, emotion in enumerate(emotions):
            for k in range(clips):
                rng = np.random.default_rng(actor * 100 + e * 10 + k)
                t = np.arange(RATE // 2) / RATE
                signal = 0.3 * np.sin(2 * np.pi * (180 + 120 * e + 7 * actor) * t) + 0.02 * rng.standard_normal(len(t))
                path = root / clip_name(actor, emotion, k)
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, signal.astype(np.float32), RATE, subtype="PCM_16")
    return root


@pytest.fixture(scope="session")
def clean_tree(tmp_path_factory) -> Path:
    """A clean tree, written once; copy it (:func:`copy_tree`) before damaging anything."""
    return write_tree(tmp_path_factory.mktemp("clean") / "ravdess")


@pytest.fixture()
def copy_tree(clean_tree, tmp_path):
    """``copy_tree(name)``: a fresh copy of the clean tree under ``tmp_path/name``."""
    def make(name: str = "copy") -> Path:
        return Path(shutil.copytree(clean_tree, tmp_path / name))
    return make


def make_ctx(tree: Path, cache: Path, skip: bool = False, **kwargs) -> RunContext:
    """A context reading ``tree`` as the RAVDESS copy, one worker, warnings collected (not issued)."""
    seen: list = []
    return RunContext(data_dirs=[], cache_dir=cache, corpus_paths={"ravdess": str(tree)}, workers=1,
                      skip_bad_files=skip, on_warning=seen.append, **kwargs)


def idt_cells(registry, losses=("logreg",), labels=LABELS):
    """IDT cells on the RAVDESS copy: a baseline fitted by its head, nothing trained by gradient."""
    return expand(Grid(protocols=["idt"], losses=list(losses), targets=["ravdess"], seeds=[0],
                       base={"labels": tuple(labels)}), registry)


def run_idt(registry, ctx, results: Path, **kwargs):
    """Run the IDT cells of :func:`idt_cells` into ``results``, serially; returns the report."""
    return run(idt_cells(registry), registry, ctx, results, executor="serial", **kwargs)
