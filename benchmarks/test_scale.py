"""Corpora of 10,000, 30,000 and 100,000 clips with a warm cache (issue "corpora of a hundred thousand
clips"): preparing a corpus (the clips' digests through the stat memo, features from the corpus's
pack) and a rerun whose every result is present, up to the moment its board would start.

The corpus is features only: a dataset plugin listing N small files (a few bytes each, no audio), and
a feature whose extractor refuses to run; its vectors are put in the pack beforehand, as a first run
would leave them. So the numbers are the cache's and the runner's, never an extractor's.

Run: ``.venv/bin/python -m pytest benchmarks/test_scale.py --benchmark-only --benchmark-enable`` (10,000
clips); ``SER_BENCH_SCALE=1`` adds 30,000 and 100,000 (a few minutes, most of it making the corpus and
the first run's results). Each test records the process's peak resident memory so far
(``ru_maxrss``) in ``extra_info``; sizes run smallest first, so a size's figure is its own peak only
when run alone (``-k 100000``).
"""
from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ser_bench.data.digest_memo import DigestMemo
from ser_bench.data.feature_cache import file_digest
from ser_bench.data.feature_pack import FeaturePack, pack_name
from ser_bench.data.features import extractor_key
from ser_bench.plugin_api.context import RunContext
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.plugin_api.registry import Entry
from ser_bench.plugin_api.types import DatasetSpec, FeatureSpec
from ser_bench.running.corpora import prepare_corpus
from ser_bench.running.runner import Grid, expand, run

DIM = 88  # eGeMAPS's length
LABELS = ("anger", "happiness", "sadness", "fear")
SPEAKERS = 20
OLD = 1_600_000_000 * 10**9  # clips written long ago: the memo may remember them
ROUNDS = 3
BIG = pytest.mark.skipif(not os.environ.get("SER_BENCH_SCALE"), reason="30,000 and 100,000 clips take minutes: "
                         "set SER_BENCH_SCALE=1")
SIZES = [10_000, pytest.param(30_000, marks=BIG), pytest.param(100_000, marks=BIG)]


def no_audio(**params):
    raise AssertionError("a features-only corpus: every vector must come from the cache")


FEATURE = FeatureSpec(name="precomputed", build=no_audio, summary="vectors put in the cache beforehand",
                      version="1", dim=DIM)


def corpus_name(n: int) -> str:
    return f"scale-{n}"


def write_corpus(root: Path, n: int) -> pd.DataFrame:
    """``n`` files of a few bytes each under ``root`` (folders of 1,000), and their manifest."""
    rows = []
    for i in range(n):
        path = root / f"{i // 1000:03d}" / f"clip{i:06d}.wav"
        if i % 1000 == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"clip %d\n" % i)
        os.utime(path, ns=(OLD, OLD))
        rows.append({"path": str(path), "speaker": f"s{i % SPEAKERS:02d}", "emotion": LABELS[(i // SPEAKERS) % 4],
                     "corpus": corpus_name(n), "language": "en"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """``made(n)``: (registry, cache folder, manifest) of a corpus of ``n`` clips with a warm cache
    (digest memo and pack), made once per size."""
    registry = load_registry(PluginSettings(entry_points=False))
    registry.add(Entry("features", FEATURE, "bench", "bench", "0"))
    done: dict = {}

    def make(n: int):
        if n not in done:
            root = tmp_path_factory.mktemp(f"scale{n}")
            manifest = write_corpus(root / "clips", n)
            registry.add(Entry("datasets", DatasetSpec(name=corpus_name(n), load=lambda ctx, m=manifest: m.copy(),
                                                       summary="features only"), "bench", "bench", "0"))
            cache = root / "cache"
            name = pack_name(corpus_name(n))
            paths = list(manifest["path"])
            DigestMemo(cache / "file-digests" / f"{name}.tsv").digests(paths)  # as a first run leaves it
            rng = np.random.default_rng(n)
            vectors = rng.standard_normal((n, DIM)).astype(np.float32)
            vectors[:, 0] += np.array([LABELS.index(e) for e in manifest["emotion"]], dtype=np.float32)
            folder = cache / "features" / extractor_key(FEATURE, {})
            kept, warning = FeaturePack(folder, name, DIM).add({file_digest(p): v for p, v in zip(paths, vectors)})
            assert kept and not warning
            done[n] = (registry, cache, manifest)
        return done[n]

    return make


def peak_mib() -> float:
    """The process's peak resident memory so far, in MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def context(cache: Path) -> RunContext:
    return RunContext(data_dirs=[], cache_dir=cache, workers=1, on_warning=lambda message: None)


@pytest.mark.parametrize("n", SIZES)
def test_prepare_corpus_from_a_warm_cache(benchmark, made, n):
    registry, cache, manifest = made(n)

    def prepare():
        return prepare_corpus(corpus_name(n), FEATURE.name, LABELS, {}, registry, context(cache))

    corpus = benchmark.pedantic(prepare, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert corpus.features.shape == (n, DIM) and len(corpus.manifest) == n
    benchmark.extra_info.update(clips=n, peak_rss_mib=round(peak_mib(), 1))
    print(f"\nprepare {n} clips: median {benchmark.stats.stats.median:.3f} s, peak RSS {peak_mib():.0f} MiB")


@pytest.mark.parametrize("n", SIZES)
def test_rerun_with_every_result_present(benchmark, made, n, tmp_path):
    """A one-cell grid (IDT, logistic regression) run once for its result, then timed again: all that a
    rerun does before its board (reading the corpus, its features and the stored result)."""
    registry, cache, _ = made(n)
    cells = expand(Grid(protocols=["idt"], losses=["logreg"], targets=[corpus_name(n)], features=[FEATURE.name],
                        base={"labels": LABELS}), registry)
    first = run(cells, registry, context(cache), tmp_path, executor="serial", cache_models=False)
    assert len(first.ran) == len(cells) and not first.failed, first.failed

    def rerun():
        report = run(cells, registry, context(cache), tmp_path, executor="serial", cache_models=False)
        assert len(report.already_done) == len(cells) and not report.ran

    benchmark.pedantic(rerun, rounds=ROUNDS, iterations=1)
    benchmark.extra_info.update(clips=n, peak_rss_mib=round(peak_mib(), 1))
    print(f"\nrerun {n} clips: median {benchmark.stats.stats.median:.3f} s, peak RSS {peak_mib():.0f} MiB")
