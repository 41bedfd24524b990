"""The shortcuts a few-shot cell takes give the numbers of the long way, bit for bit: the per-episode copy
of the pre-trained model (``copy_module``, not ``copy.deepcopy``), the linear heads' scaler and classifier
fitted without a scikit-learn pipeline, and the checks and hashes shared by an episode's frozen-layer
settings."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from ser_bench.model.copying import copy_module
from ser_bench.model.heads import sklearn_probe, standardised_probe
from ser_bench.running import evaluation
from ser_bench.running.cells import Cell, resolve
from ser_bench.running.splits import check_speaker_disjoint, episode_hash, sentence_overlap, split_hash

from .conftest import FAST_TRAINING, TINY

LABELS = ("anger", "happiness", "sadness", "fear")


@pytest.fixture(scope="module")
def data(tiny_cell_data):
    return tiny_cell_data


def fewshot(registry, loss, **kw):
    return resolve(Cell(protocol="fewshot", loss=loss, target="sim-ravdess", source="sim-crema",
                        training=dict(FAST_TRAINING), dataset_params=TINY,
                        protocol_params={"k": [1, 2], "frozen": [0, 1, 2], "repeats": 2}, **kw), registry)


def as_json(body) -> str:
    return json.dumps({"splits": [s.to_json() for s in body.splits], "summary": body.summary}, sort_keys=True, default=str)


# --- copying the pre-trained model ---------------------------------------------------------------------

def _modules():
    from ser_bench_plugins.encoders.mlp import build as mlp
    from ser_bench_plugins.encoders.siamese_mlp import build as siamese
    from ser_bench_plugins.losses.cross_entropy import module_class

    torch.manual_seed(0)
    tied = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU(), torch.nn.Linear(3, 3))
    tied[2].weight = tied[0].weight  # one parameter in two places stays one in the copy
    normed = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5))
    normed(torch.randn(8, 4))  # running statistics (buffers) away from their initial values
    frozen = siamese(6)
    frozen.blocks[0][0].weight.requires_grad_(False)
    frozen.eval()
    return {"siamese": siamese(64), "mlp": mlp(64), "loss": module_class()(16, 4, 0.1), "tied": tied,
            "normed": normed, "frozen": frozen}


@pytest.mark.parametrize("name", ["siamese", "mlp", "loss", "tied", "normed", "frozen"])
def test_copy_module_is_a_deepcopy(name):
    module = _modules()[name]
    fast, slow = copy_module(module), copy.deepcopy(module)
    assert type(fast) is type(module) and str(fast) == str(slow)
    assert fast.state_dict().keys() == slow.state_dict().keys()
    for (key, a), b, original in zip(fast.state_dict().items(), slow.state_dict().values(), module.state_dict().values()):
        assert torch.equal(a, b) and a.dtype == b.dtype, key
        assert a.data_ptr() != original.data_ptr(), f"{key} shares storage with the original"
    assert [p.requires_grad for p in fast.parameters()] == [p.requires_grad for p in module.parameters()]
    assert [m.training for m in fast.modules()] == [m.training for m in module.modules()]
    assert len(list(fast.parameters())) == len(list(slow.parameters()))  # tied stays tied
    assert {k: v for k, v in vars(fast).items() if not k.startswith("_")} == \
        {k: v for k, v in vars(slow).items() if not k.startswith("_")}
    with torch.no_grad():
        next(fast.parameters()).add_(1.0)
    assert torch.equal(next(module.parameters()), next(slow.parameters()))


def test_copy_module_hands_modules_that_copy_themselves_to_deepcopy():
    class Counted(torch.nn.Linear):
        copies = 0

        def __deepcopy__(self, memo):
            Counted.copies += 1
            new = Counted(self.in_features, self.out_features)
            new.load_state_dict(self.state_dict())
            return new

    outer = torch.nn.Sequential(Counted(2, 2), torch.nn.ReLU())
    copied = copy_module(outer)
    assert Counted.copies == 1 and isinstance(copied[0], Counted)
    assert torch.equal(copied[0].weight, outer[0].weight)


@pytest.mark.parametrize("loss", ["ratio_distance", "softmax_mlp"])
def test_fewshot_cell_with_copy_module_equals_deepcopy(registry, data, monkeypatch, loss):
    c = fewshot(registry, loss)
    fast = evaluation.evaluate_cell(c, data, registry)
    from ser_bench.running import finetuning

    monkeypatch.setattr(finetuning, "copy_module", copy.deepcopy)
    slow = evaluation.evaluate_cell(c, data, registry)
    assert as_json(fast) == as_json(slow)


# --- the linear heads without a pipeline ---------------------------------------------------------------

def _classifiers():
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    return {"linear": lambda: LogisticRegression(C=1.0, max_iter=1000),
            "linear_svm": lambda: LinearSVC(C=1.0, max_iter=10000, random_state=0)}


@pytest.mark.parametrize("head", ["linear", "linear_svm"])
def test_standardised_probe_predicts_as_the_pipeline(head):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    make = _classifiers()[head]
    identity = torch.nn.Identity()
    identity.embed = lambda x: x
    rng = np.random.default_rng(0)
    for case in range(60):
        n, d, classes = int(rng.integers(4, 120)), int(rng.choice([3, 16, 64])), int(rng.integers(2, 5))
        y = torch.as_tensor(rng.integers(0, classes, n))
        x_s = torch.as_tensor(rng.normal(size=(n, d)) * rng.uniform(0.1, 10, d) + rng.normal(size=d), dtype=torch.float32)
        x_t = torch.as_tensor(rng.normal(size=(int(rng.integers(0, 300)), d)) * 2, dtype=torch.float32)
        fast = standardised_probe(make(), identity, x_t, x_s, y)
        slow = sklearn_probe(make_pipeline(StandardScaler(), make()), identity, x_t, x_s, y)
        assert torch.equal(fast, slow), case


def test_standardised_probe_keeps_the_one_class_and_empty_cases():
    identity = torch.nn.Identity()
    identity.embed = lambda x: x
    make = _classifiers()["linear"]
    one = standardised_probe(make(), identity, torch.randn(5, 3), torch.randn(4, 3), torch.full((4,), 2))
    assert one.tolist() == [2] * 5
    assert standardised_probe(make(), identity, torch.zeros(0, 3), torch.randn(4, 3), torch.tensor([0, 1, 0, 1])).shape == (0,)


# --- checks and hashes shared by an episode's frozen-layer settings ----------------------------------------

def test_each_split_records_its_own_checks_and_hashes(registry, data):
    c = fewshot(registry, "bce_pair", decision="sum")
    body = evaluation.evaluate_cell(c, data, registry)
    splits = {s.name: s for s in registry.get("protocols", "fewshot").splits(
        evaluation.ProtocolData(target=data["target"][0], source=data["source"][0]), seed=c.seed, **c.protocol_params)}
    manifests = {role: manifest for role, (manifest, _) in data.items()}
    assert len(body.splits) == len(splits) == 12
    for result in body.splits:
        split = splits[result.name]
        assert result.hash == split_hash(split) and result.episode_hash == episode_hash(split)
        assert result.speaker_overlap == check_speaker_disjoint(split, manifests)
        assert result.sentence_overlap == sentence_overlap(split, manifests)
    first, second = body.splits[0], body.splits[1]  # one episode, two frozen settings
    assert first.hash == second.hash and first.sentence_overlap is not second.sentence_overlap


def test_a_leaking_split_is_still_refused(registry, data):
    from ser_bench.errors import ProtocolError

    c = resolve(Cell(protocol="idt", loss="logreg", target="sim-ravdess", training=dict(FAST_TRAINING),
                     dataset_params=TINY), registry)
    target = {"target": data["target"]}

    def leak(splits):
        split = splits[0]
        return [evaluation.Split(name=split.name, train=split.test, support=split.support, test=split.test,
                                 info=dict(split.info))]

    with pytest.raises(ProtocolError, match="leaks speakers"):
        evaluation.evaluate_cell(c, target, registry, split_filter=leak)
