"""Mini-batch training: every sample is used, in near-equal batches."""
from __future__ import annotations

import torch

from ser_bench.model.training import fit


class Recorder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.batches = []

    def embed(self, x):
        return x * self.w


def test_no_sample_is_dropped_and_batches_are_near_equal():
    model = Recorder()
    x, y = torch.arange(329.0)[:, None], torch.arange(329)

    def loss(m, xb, yb):
        m.batches.append(yb.tolist())
        return (m.embed(xb) ** 2).sum()

    info = fit(model, x, y, loss, epochs=2, batch_size=128)
    assert info["steps"] == 6
    sizes = [len(b) for b in model.batches]
    assert sizes == [110, 110, 109, 110, 110, 109]
    for epoch in (model.batches[:3], model.batches[3:]):
        assert sorted(i for b in epoch for i in b) == list(range(329))


def test_steps_count_batches_across_epochs():
    model = Recorder()
    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    info = fit(model, x, y, lambda m, xb, yb: (m.embed(xb) ** 2).sum(), steps=7, batch_size=4)
    assert info["steps"] == 7
