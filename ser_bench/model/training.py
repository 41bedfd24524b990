"""Mini-batch training of an encoder with a loss, optionally with its first layers frozen."""
from __future__ import annotations

import math
import time

from ser_bench.model.seeding import seed_torch

# Not stated in the paper; recorded in every result. Chosen on the simulated corpora only.
DEFAULT_TRAINING = {
    "epochs": 60,
    "batch_size": 128,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "finetune_steps": 60,
    "finetune_lr": 1e-3,
}

def resolve_device(device: str | None = "cpu") -> str:
    """Where models are trained and scored: ``auto`` is ``cuda`` when torch sees a CUDA device, else
    ``cpu``; ``cpu``, ``cuda`` and ``cuda:N`` are taken as given (``None`` is ``cpu``). A CUDA device that
    this torch cannot see is a :class:`~ser_bench.errors.SerBenchError`, said before any work."""
    from ser_bench.errors import SerBenchError

    device = str(device or "cpu").strip()
    if device not in ("auto", "cpu", "cuda") and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise SerBenchError(f"--device {device!r}: give auto, cpu or cuda (or cuda:N)")
    if device == "cpu":  # the default: the parent of a run need not import torch to know it
        return device
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SerBenchError(f"no CUDA device: this torch ({torch.__version__}) sees none, so models cannot be "
                            f"trained on --device {device}; use --device cpu or auto")
    return device


def freeze_layers(model, n: int) -> None:
    """Stop gradients into the first ``n`` of ``model.feature_layers()`` (an error if it has fewer)."""
    layers = model.feature_layers() if hasattr(model, "feature_layers") else []
    if n > len(layers):
        from ser_bench.errors import ProtocolError

        raise ProtocolError(f"cannot freeze {n} layers: the encoder has {len(layers)} feature layers")
    for layer in layers[:n]:
        for p in layer.parameters():
            p.requires_grad_(False)


def fit(model, x, y, loss_fn, *, steps: int | None = None, epochs: int | None = None, batch_size: int = 128,
        lr: float = 1e-3, weight_decay: float = 0.0, seed: int = 0, unlabelled=None) -> dict:
    """Train ``model`` in place on tensors ``x, y`` for ``epochs`` passes (or exactly ``steps`` batches).

    Each epoch cuts a seeded permutation into ``ceil(n / batch_size)`` near-equal batches, so no sample
    is left out; ``steps`` counts batches across epochs. A loss that is itself a module (with trainable
    parameters) is optimised too. An encoder with ``combine_loss(x, metric_loss, unlabelled)`` adds its
    own objective, seeing a batch of ``unlabelled`` clips as well when given (semi-supervised encoders).
    Returns the number of steps, the last loss and the seconds taken.

    Training runs where ``model`` and ``x, y`` are (the caller puts them on one device). The batch order
    comes from a CPU generator whatever the device, so it is the same everywhere; the arithmetic of a
    CUDA device rounds otherwise, so its models are close to, not bit for bit, the CPU ones.
    """
    import torch

    if (steps is None and (epochs is None or epochs < 1)) or (steps is not None and steps < 0) or batch_size < 1:
        # resolve() refuses these for the CLI and recipes; library callers get the same guard here.
        raise ValueError(f"fit needs epochs >= 1 or steps >= 0, and batch_size >= 1 (got epochs={epochs}, "
                         f"steps={steps}, batch_size={batch_size})")
    start = time.perf_counter()
    gen = torch.Generator().manual_seed(int(seed))  # on the CPU: the same batches on every device
    seed_torch(int(seed))
    params = [p for p in model.parameters() if p.requires_grad]
    if isinstance(loss_fn, torch.nn.Module):
        params += [p for p in loss_fn.parameters() if p.requires_grad]
    if not params:
        return {"steps": 0, "last_loss": None, "seconds": 0.0}
    if all(p.device.type == "cpu" for p in params):
        from ser_bench.model.adam import Adam  # torch.optim.Adam's numbers without importing torch._dynamo

        optimiser = Adam(params, lr=lr, weight_decay=weight_decay)
    else:  # torch's default there (foreach) is its own, and a GPU run does not notice the import
        optimiser = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    n = len(y)
    # Every sample is seen every epoch: the permutation is cut into ceil(n / batch_size) batches of
    # near-equal size (329 clips at 128 -> 110, 110, 109), never a dropped or a one-clip remainder.
    per_epoch = max(1, -(-n // max(1, batch_size)))
    total = steps if steps is not None else per_epoch * (epochs or 1)
    model.train()
    done, last = 0, None
    while done < total:
        for idx in torch.randperm(n, generator=gen).tensor_split(per_epoch):
            idx = idx.to(x.device)  # the same tensor on the CPU
            loss = loss_fn(model, x[idx], y[idx])
            if hasattr(model, "combine_loss"):
                extra = None
                if unlabelled is not None and len(unlabelled):
                    pick = torch.randint(len(unlabelled), (min(len(idx), len(unlabelled)),), generator=gen)
                    extra = unlabelled[pick.to(unlabelled.device)]
                loss = model.combine_loss(x[idx], loss, extra)
            last = float(loss.detach())
            if not math.isfinite(last):  # never take a step on it: the model would be NaN from here on
                raise diverged(f"the training loss was {last} at step {done + 1} of {total}", done + 1)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            done += 1
            if done >= total:
                break
    model.eval()
    check_finite_parameters([model, loss_fn], done)
    return {"steps": done, "last_loss": last, "seconds": time.perf_counter() - start}


DIVERGED_HINT = ("training diverged, so there is no trained model to score; lower the learning rate "
                 "(--train-param lr=..., finetune_lr=...), or check the loss or encoder plugin")


def diverged(what: str, step: int, index: int | None = None):
    """The :class:`~ser_bench.errors.DivergedError` for a non-finite value seen at ``step``."""
    from ser_bench.errors import DivergedError

    return DivergedError(f"{what}: {DIVERGED_HINT}", step=step, index=index)


def check_finite_parameters(modules, steps: int, index: int | None = None) -> None:
    """Raise :func:`diverged` when a parameter of ``modules`` (those that are torch modules) is not finite:
    a last step whose gradient overflowed leaves a finite loss and a NaN model."""
    import torch

    for module in modules:
        if not isinstance(module, torch.nn.Module):
            continue
        for name, p in module.named_parameters():
            if not bool(torch.isfinite(p).all()):
                raise diverged(f"parameter {name!r} is not finite after step {steps}", steps, index)
