"""``run --device``: where models are trained and scored (issue 13). CPU-only checks: ``cpu`` gives
the same results as no ``--device``, the device is recorded, ``auto`` resolves by what torch sees,
a CUDA device torch cannot see is refused before any work, and cached models load onto the run's device."""
from __future__ import annotations

import pytest
import torch

from ser_bench.cli.main import main
from ser_bench.errors import SerBenchError
from ser_bench.model.model_cache import DiskModelCache, cpu_state
from ser_bench.model.training import resolve_device
from ser_bench.results.store import load_results
from ser_bench.running import evaluation
from ser_bench.running.evaluation import evaluate_cell
from ser_bench.running.corpora import prepare_corpus
from ser_bench.running.grid import Grid, expand
from ser_bench.running.runner import run

from .conftest import FAST_TRAINING, TINY


def _cuda(monkeypatch, available: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)


def test_auto_is_cuda_only_where_torch_sees_one(monkeypatch):
    _cuda(monkeypatch, True)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda:1") == "cuda:1"
    _cuda(monkeypatch, False)
    assert resolve_device("auto") == "cpu" and resolve_device(None) == "cpu" and resolve_device("cpu") == "cpu"
    for device in ("cuda", "cuda:0"):
        with pytest.raises(SerBenchError, match="no CUDA device.*use --device cpu or auto"):
            resolve_device(device)
    with pytest.raises(SerBenchError, match="give auto, cpu or cuda"):
        resolve_device("gpu")


def _cell_and_data(registry, ctx, loss="cross_entropy"):
    base = {"training": FAST_TRAINING, "dataset_params": TINY}
    cell = expand(Grid(protocols=["idt"], losses=[loss], targets=["sim-ravdess"], base=base), registry)[0]
    corpus = prepare_corpus(cell.target, cell.feature, cell.labels, cell.dataset_params[cell.target], registry, ctx)
    return cell, {"target": (corpus.manifest, corpus.features)}


def test_evaluate_cell_trains_on_the_device_it_is_given(registry, ctx, tiny_corpora, monkeypatch):
    cell, data = _cell_and_data(registry, ctx)
    seen = []

    class Recording(evaluation._CellRun):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.append(self.device)

    monkeypatch.setattr(evaluation, "_CellRun", Recording)
    _cuda(monkeypatch, False)
    default = evaluate_cell(cell, data, registry)
    auto = evaluate_cell(cell, data, registry, device="auto")  # no CUDA here: the CPU
    assert seen == ["cpu", "cpu"]
    assert [s.metrics for s in auto.splits] == [s.metrics for s in default.splits]
    with pytest.raises(SerBenchError, match="no CUDA device"):
        evaluate_cell(cell, data, registry, device="cuda")
    assert seen == ["cpu", "cpu"]  # refused before any split was built


def test_the_model_cache_stores_cpu_tensors_and_loads_onto_its_device(tmp_path, monkeypatch):
    def build():
        torch.manual_seed(0)
        return torch.nn.Linear(3, 2)

    def train(model):
        with torch.no_grad():
            model.weight.add_(1.0)

    cache = DiskModelCache(tmp_path, device="cpu")
    trained = cache.get_or_train("k" * 40, build, train)
    stored = torch.load(next(tmp_path.glob("**/*.pt")), weights_only=True)
    assert all(t.device.type == "cpu" for t in stored.values())
    assert torch.equal(stored["weight"], trained.weight.detach())
    state = trained.state_dict()
    assert cpu_state(state) is state  # already on the CPU: written as before devices existed

    places = []
    real_load = torch.load

    def load(*args, **kwargs):
        places.append(kwargs.get("map_location"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    again = DiskModelCache(tmp_path, device="cpu")
    loaded = again.get_or_train("k" * 40, build, lambda m: pytest.fail("a cached model was retrained"))
    assert places == ["cpu"] and again.hits == 1
    assert torch.equal(loaded.weight, trained.weight) and loaded.weight.device.type == "cpu"


def test_run_refuses_cuda_without_it_before_writing_anything(registry, ctx, tiny_corpora, tmp_path, monkeypatch):
    cell, _ = _cell_and_data(registry, ctx)
    _cuda(monkeypatch, False)
    with pytest.raises(SerBenchError, match="no CUDA device"):
        run([cell], registry, ctx, tmp_path / "results", executor="serial", device="cuda")
    assert not (tmp_path / "results").exists()


CLI = ["-q", "run", "--loss", "cross_entropy", "--target", "sim-ravdess", "--protocol", "idt",
       "--train-param", "epochs=2", "--dataset-param", "sim-ravdess.speakers=4", "--executor", "serial",
       "--seed", "0", "--no-leaderboard", "--no-model-cache"]


def test_device_cpu_gives_the_results_of_no_device_and_is_recorded(tmp_path, cache_dir, tiny_corpora):
    # is09-64 takes no device: --device still says where models train, so it is no error.
    assert main([*CLI, "--cache-dir", str(cache_dir), "--results", str(tmp_path / "none")]) == 0
    assert main([*CLI, "--cache-dir", str(cache_dir), "--results", str(tmp_path / "cpu"), "--device", "cpu"]) == 0
    (plain,), (cpu,) = load_results(tmp_path / "none"), load_results(tmp_path / "cpu")
    assert cpu.cell_id == plain.cell_id  # the device is no part of a cell
    assert cpu.splits == plain.splits and cpu.summary == plain.summary
    assert cpu.provenance["device"] == plain.provenance["device"] == "cpu"


def test_device_cuda_without_cuda_exits_2_before_anything_is_written(tmp_path, capsys, monkeypatch):
    _cuda(monkeypatch, False)
    code = main([*CLI, "--cache-dir", str(tmp_path / "cache"), "--results", str(tmp_path / "results"),
                 "--device", "cuda"])
    assert code == 2 and "no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "results").exists() and not (tmp_path / "cache").exists()
