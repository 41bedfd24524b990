"""Tuning trials in batches (``tuning.batch``): every trial trained and scored exactly as alone, the search
reproducible, unbatchable trials trained one by one, pruning and the journal as without batches."""
from __future__ import annotations

import pytest
import torch

from ser_bench.errors import SerBenchError
from ser_bench.model import batched
from ser_bench.model.batched import fit_many
from ser_bench.model.training import fit
from ser_bench.plugin_api.types import LossContext
from ser_bench.running import evaluation, trial_batches, tuning
from ser_bench.running.cells import Cell, resolve

from .conftest import TINY

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Cheap ranges; the encoder's hidden sizes fixed, so that every trial builds one architecture.
SEARCH = {"training.epochs": "2..6:int", "training.lr": "1e-4..1e-2:log", "training.weight_decay": "1e-6..1e-2:log",
          "encoder.hidden": "off"}


@pytest.fixture(scope="module")
def data(tiny_cell_data):
    return tiny_cell_data


def cell_of(registry, loss="bce_pair", protocol="oodt", trials=4, batch=4, search=None):
    tuning_settings = {"trials": trials, "validation_speakers": 2, "search": dict(search or SEARCH),
                       **({"batch": batch} if batch else {})}
    return resolve(Cell(protocol=protocol, loss=loss, target="sim-ravdess",
                        source=None if protocol == "idt" else "sim-crema",
                        training={"epochs": 3, "batch_size": 32}, dataset_params=TINY, tuning=tuning_settings),
                   registry)


def state(model, loss):
    out = dict(model.state_dict())
    if isinstance(loss, torch.nn.Module):
        out.update({f"loss.{k}": v for k, v in loss.state_dict().items()})
    return out


@pytest.mark.parametrize("loss_name,encoder", [("bce_pair", "siamese-mlp"), ("cross_entropy", "mlp")])
def test_models_with_their_own_settings_train_together_bit_for_bit(registry, loss_name, encoder):
    """One lr, weight decay (0 included) and number of epochs per model: each model as fit trains it alone."""
    spec = registry.get("losses", loss_name)
    context = LossContext(num_classes=4, embedding_dim=16, input_dim=24)

    def make():
        torch.manual_seed(7)
        return (registry.get("encoders", encoder).build(input_dim=24),
                spec.build(context=context) if spec.needs_context else spec.build())

    gen = torch.Generator().manual_seed(0)
    y = torch.randint(4, (70,), generator=gen)
    x = torch.randn(70, 24, generator=gen) + y[:, None] * 0.5
    lrs, decays, epochs = [1e-3, 3e-3, 1e-2, 2e-4, 5e-3], [1e-4, 0.0, 1e-2, 1e-6, 3e-3], [3, 5, 2, 4, 5]
    alone, together = [make() for _ in lrs], [make() for _ in lrs]
    infos = [fit(m, x, y, lo, seed=11 + i, epochs=e, lr=lr, weight_decay=wd, batch_size=32)
             for i, ((m, lo), lr, wd, e) in enumerate(zip(alone, lrs, decays, epochs))]
    got = fit_many([m for m, _ in together], [x] * 5, [y] * 5, [lo for _, lo in together], seeds=[11 + i for i in range(5)],
                   batchable=True, epochs=epochs, lr=lrs, weight_decay=decays, batch_size=32)
    for a, b in zip(alone, together):
        sa, sb = state(*a), state(*b)
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert [(i["steps"], i["last_loss"]) for i in infos] == [(i["steps"], i["last_loss"]) for i in got]


def alone_scores(registry, cell, data, record):
    """Each trial's settings scored alone, split by split, by the full evaluation of a split."""
    splits, _ = tuning.validation_plan(cell, data, registry)
    out = []
    for trial in record["history"]:
        run = evaluation._CellRun(tuning.apply(cell, trial["values"]), data, registry, None, {})
        out.append([run.evaluate(split).uar for split in splits[:len(trial["per_split"])]])
    return out


@pytest.mark.parametrize("loss,protocol", [("bce_pair", "oodt"), ("softmax_mlp", "idt")])
def test_batched_trials_score_exactly_as_each_alone(registry, data, monkeypatch, loss, protocol):
    search = {**SEARCH, "loss.label_smoothing": "off", "head.C": "off"} if loss == "softmax_mlp" else SEARCH
    cell = cell_of(registry, loss=loss, protocol=protocol, trials=4, search=search)
    data = data if protocol != "idt" else {"target": data["target"]}
    groups = []
    real = batched._fit_group
    monkeypatch.setattr(batched, "_fit_group", lambda models, *a, **k: groups.append(len(models)) or real(models, *a, **k))
    record = evaluation.evaluate_cell(cell, data, registry).tuning
    assert groups and max(groups) == 4, "the trials were not trained together"
    assert record["batch"] == 4 and len(record["history"]) == 4
    assert [t["per_split"] for t in record["history"]] == alone_scores(registry, cell, data, record)


def test_the_same_seed_gives_the_same_trials_and_choice(registry, data):
    cell = cell_of(registry, trials=6, batch=3)
    first = evaluation.evaluate_cell(cell, data, registry).tuning
    again = evaluation.evaluate_cell(cell, data, registry).tuning
    assert [(t["values"], t["per_split"], t["state"]) for t in first["history"]] == \
        [(t["values"], t["per_split"], t["state"]) for t in again["history"]]
    assert first["best_values"] == again["best_values"]


def test_unbatchable_trials_train_one_by_one_with_the_same_numbers(registry, data, monkeypatch):
    """Trials that differ in their encoder's hidden sizes share no architecture, and a run off the CPU
    trains nothing together: each trains alone, and the batch asks the sampler as before."""
    run = evaluation._CellRun(cell_of(registry), data, registry, None, {})
    split = tuning.validation_plan(run.cell, data, registry)[0][0]
    assert trial_batches.signature(run, split) is not None
    run.device = "cuda:0"
    assert trial_batches.signature(run, split) is None

    cell = cell_of(registry, trials=4, search={**SEARCH, "encoder.hidden": "[64,32,16]|[128,64,64]"})
    groups = []
    real = batched._fit_group
    monkeypatch.setattr(batched, "_fit_group", lambda models, *a, **k: groups.append(len(models)) or real(models, *a, **k))
    record = evaluation.evaluate_cell(cell, data, registry).tuning
    hidden = [t["values"]["encoder.hidden"] for t in record["history"]]
    assert all(size <= max(hidden.count(h) for h in hidden) for size in groups)
    assert [t["per_split"] for t in record["history"]] == alone_scores(registry, cell, data, record)

    # A loss with no batched twin: nothing trained together, every trial scored as alone.
    cell = cell_of(registry, loss="supcon", trials=3, search={**SEARCH, "loss.temperature": "off"})
    groups.clear()
    record = evaluation.evaluate_cell(cell, data, registry).tuning
    assert not groups and record["batch"] == 4
    assert [t["per_split"] for t in record["history"]] == alone_scores(registry, cell, data, record)


def test_batch_is_a_recorded_setting(registry):
    batched_cell, plain = cell_of(registry, batch=4), cell_of(registry, batch=None)
    assert batched_cell.tuning["batch"] == 4 and "batch" not in plain.tuning  # one at a time: ids of before
    assert batched_cell.cell_id() != plain.cell_id()
    assert "batch" not in cell_of(registry, batch=1).tuning
    with pytest.raises(SerBenchError, match="batch >= 1"):
        cell_of(registry, batch=-1)


def test_pruning_in_a_batch_and_resuming_from_the_journal(registry, data, tmp_path):
    """Scores made up per trial: a batch's trials are pruned at a split by the median of the trials finished
    before it; an interrupted batch's trials are told failed and run afresh on resume."""
    cell = cell_of(registry, protocol="idt", trials=8, batch=4)
    data = {"target": data["target"]}
    splits, _ = tuning.validation_plan(cell, data, registry)
    assert len(splits) == 2  # the median rule may prune from the first split on
    asked = []

    def together(trial_cells, stop_at=None):
        asked.append(len(trial_cells))
        if stop_at is not None and len(asked) == stop_at:
            raise KeyboardInterrupt

        def score(split, which):
            batch = len(asked)  # later batches score worse: the median rule prunes them
            return [0.9 - 0.3 * (batch > 1) + 0.01 * i for i in which]
        return score

    record = tuning.tune(cell, data, registry, splits, evaluate_together=together)
    states = [t["state"] for t in record["history"]]
    assert states[:4] == ["COMPLETE"] * 4 and states[4:] == ["PRUNED"] * 4
    assert all(len(t["per_split"]) == 1 for t in record["history"][4:])  # pruned at the first split

    store, asked[:] = tmp_path / "journal", []
    with pytest.raises(KeyboardInterrupt):
        tuning.tune(cell, data, registry, splits, store=store, evaluate_together=lambda c: together(c, stop_at=2))
    resumed = tuning.tune(cell, data, registry, splits, store=store, evaluate_together=together)
    states = [t["state"] for t in resumed["history"]]
    assert states.count("FAIL") == 4 and states.count("COMPLETE") + states.count("PRUNED") == 8
    assert asked == [4, 4, 4]  # the first batch kept, the interrupted one run afresh


def test_the_command_line_records_the_batch_and_refuses_it_without_trials(tmp_path, capsys):
    from ser_bench.cli.main import main

    base = ["run", "--protocol", "idt", "--target", "sim-ravdess", "--loss", "logreg", "--results", str(tmp_path)]
    assert main([*base, "--tune-batch", "4"]) == 2
    assert "--tune-batch says how many --tune trials are asked for at once" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main([*base, "--tune", "2", "--tune-batch", "0"])
    assert stopped.value.code == 2 and "expected a whole number >= 1" in capsys.readouterr().err
