"""Training many small models of one architecture at once, each bit for bit as :func:`fit` trains it alone.

:func:`fit_many` trains M models (the folds of a cell, or its few-shot episodes) as one computation:
every ``nn.Linear`` of the M copies becomes one stacked layer holding M weight sets and mapping
``[M, B, in]`` to ``[M, B, out]`` (:mod:`ser_bench.model.stacked`), the loss computes M losses at once
(its ``batched`` method), one optimiser step (:class:`~ser_bench.model.stacked.StackedAdam`) updates
every model, and each model keeps its own rows, targets, seed and batch order. One Python step then
serves M models instead of one.

Equal to one by one, not nearly equal: on CPU, on one thread (as every ser-bench worker trains), each
model's weights come out bit for bit as :func:`~ser_bench.model.training.fit` leaves them, whatever M
is and wherever the model sits among the M. That takes these precautions, each measured on this
project's PyTorch/MKL build and asserted by ``tests/test_batched_training.py`` (which fails when one
is left out):

- *Alignment.* MKL's sgemm rounds differently for operands that start at other memory alignments than
  a fresh tensor's 64 bytes. Every per-model slice that reaches a matrix product starts 64 bytes
  aligned (:func:`~ser_bench.model.stacked.slab_empty`,
  :func:`~ser_bench.model.stacked.as_slab`), copied there when it does not.
- *Scalar tails.* PyTorch's elementwise kernels compute the last ``len % (2 x vector width)`` elements
  with scalar code, which for ``sigmoid`` rounds differently from the vector code. The pair losses'
  sigmoid runs on a padded slab, so that each model's row is iterated on its own and its tail falls
  where a lone tensor's does. (Adam's ops give the same bits either way, so its buffers are flat.)
- *Which products may be batched.* On aligned slices PyTorch's ``bmm`` and ``baddbmm`` give each slice
  ``mm``'s and ``addmm``'s bits except for matrix-vector shapes (a side of 1) and tiny products
  (rows x inner x cols < 400, where PyTorch uses its own loop); PyTorch's own backward of a batched
  product matches ``addmm``'s only when no side is under 16. Elsewhere the products are taken with
  the operand order ``addmm``'s backward formula uses, one model at a time where needed.
- *The same formulas.* Loss gradients follow PyTorch's own backward formulas
  (``binary_cross_entropy_with_logits``'s, ``nll_loss``'s, ...), and the optimiser repeats
  ``torch.optim.Adam``'s single-tensor step op for op.

Models of one group may differ in their training settings too: ``lr``, ``weight_decay`` and ``epochs``
(or ``steps``) can be one value per model (the trials of a tuning, :mod:`ser_bench.running.trial_batches`).
Each model's optimiser step uses its own values; a model with fewer steps is copied out when it reaches
them (the group goes on for the others, and whatever its slice computes after that is discarded).

Encoders opt in with ``batchable=True`` on their spec (``EncoderSpec``), losses with a batched twin
(an optimisation of some built-in losses, :mod:`ser_bench.model.twins`); the caller passes that
decision to :func:`fit_many`, which otherwise trains one by one through :func:`fit`.
"""
from __future__ import annotations

import time

from ser_bench.model.seeding import seed_torch
from ser_bench.model.stacked import StackedAdam, keep_freed_memory, stack_modules, unstack_into
from ser_bench.model.training import check_finite_parameters, diverged


def fit_many(models, xs, ys, loss_fns, *, seeds, batchable: bool, steps=None, epochs=None, batch_size: int = 128,
             lr=1e-3, weight_decay=0.0, unlabelled=None) -> list[dict]:
    """Train each ``models[i]`` in place on ``xs[i], ys[i]`` with ``loss_fns[i]`` and ``seeds[i]``, exactly
    as ``fit(models[i], xs[i], ys[i], loss_fns[i], seed=seeds[i], ...)`` would; returns fit's info per model.

    The models share their architecture and their loss's configuration (one encoder and one loss spec
    with the same parameters: what differs is weights, frozen layers, data and seed). With
    ``batchable`` (the encoder's and the loss's spec both declare it; see
    :class:`~ser_bench.plugin_api.types.LossSpec`), models with the same number of training rows and the
    same frozen parameters are trained together, each bit for bit as :func:`fit` trains it alone, when
    PyTorch runs on one thread (``torch.set_num_threads(1)``, as ser-bench workers do; on more, MKL's
    threaded kernels round otherwise, and every model is trained alone). Batching is a CPU guarantee:
    models or data on another device (``run --device cuda``) are trained alone, one :func:`fit` each, on
    that device. Anything else, a group of one
    included, goes through :func:`fit` one by one; so does a model given ``unlabelled`` clips (one
    tensor or None per model, for encoders with ``combine_loss``, which are never batchable).
    ``seconds`` of a model trained in a group is its share of the group's time.

    ``steps``, ``epochs``, ``lr`` and ``weight_decay`` are each one value for every model or a list of
    one value per model; ``batch_size`` is shared (it sets the batches every model of a group takes).
    """
    import torch

    from ser_bench.errors import DivergedError
    from ser_bench.model.training import fit

    count = len(models)
    if not (len(xs) == len(ys) == len(loss_fns) == len(seeds) == count):
        raise ValueError("fit_many needs one x, y, loss and seed per model")
    given = {"steps": steps, "epochs": epochs, "lr": lr, "weight_decay": weight_decay}
    each = {k: list(v) if isinstance(v, (list, tuple)) else [v] * count for k, v in given.items()}
    if any(len(v) != count for v in each.values()):
        raise ValueError("fit_many needs one value per model where steps, epochs, lr or weight_decay is a list")
    settings = [{**{k: v[i] for k, v in each.items()}, "batch_size": batch_size} for i in range(count)]
    extra = list(unlabelled) if unlabelled is not None else [None] * count
    # MKL's multi-threaded kernels round differently from its one-thread ones: batched training equals
    # fit only on one thread (how ser-bench workers train), so on more it is not used.
    # The bit-for-bit guarantee is about MKL on the CPU: on another device every model trains alone.
    on_cpu = all(t.device.type == "cpu" for t in [*xs, *ys] if isinstance(t, torch.Tensor)) and all(
        p.device.type == "cpu" for m in models for p in m.parameters())
    together = batchable and torch.get_num_threads() == 1 and on_cpu
    groups: dict = {}
    for i in range(count):
        alone = not together or extra[i] is not None
        groups.setdefault(("alone", i) if alone else _group_key(models[i], loss_fns[i], ys[i]), []).append(i)
    infos: list = [None] * count
    for members in groups.values():
        if len(members) == 1:
            i = members[0]
            try:
                infos[i] = fit(models[i], xs[i], ys[i], loss_fns[i], seed=seeds[i], unlabelled=extra[i], **settings[i])
            except DivergedError as exc:  # say which of the models given
                raise DivergedError(exc.args[0], step=exc.step, index=i) from None
            continue
        try:
            results = _fit_group([models[i] for i in members], [xs[i] for i in members],
                                 [ys[i] for i in members], [loss_fns[i] for i in members],
                                 [seeds[i] for i in members], [settings[i] for i in members])
        except DivergedError as exc:
            raise DivergedError(exc.args[0], step=exc.step, index=members[exc.index or 0]) from None
        for i, info in zip(members, results):
            infos[i] = info
    return infos


def _group_key(model, loss_fn, y) -> tuple:
    """Models with equal keys can be trained together: same rows per epoch, same frozen parameters."""
    import torch

    flags = tuple(p.requires_grad for p in model.parameters())
    if isinstance(loss_fn, torch.nn.Module):
        flags += tuple(p.requires_grad for p in loss_fn.parameters())
    return len(y), tuple(y.shape[1:]), flags


def _fit_group(models, xs, ys, loss_fns, seeds, settings) -> list[dict]:
    """Train models of one group together (see :func:`fit_many`), ``settings`` being each model's."""
    import torch

    batch_size = settings[0]["batch_size"]
    for s in settings:
        steps, epochs = s["steps"], s["epochs"]
        if (steps is None and (epochs is None or epochs < 1)) or (steps is not None and steps < 0) or batch_size < 1:
            raise ValueError(f"fit needs epochs >= 1 or steps >= 0, and batch_size >= 1 (got epochs={epochs}, "
                             f"steps={steps}, batch_size={batch_size})")
    if any(hasattr(model, "combine_loss") for model in models):
        raise ValueError("an encoder with combine_loss (its own objective, its own noise) cannot be trained "
                         "batched: its spec must not declare batchable")
    if not callable(getattr(loss_fns[0], "batched", None)):
        raise TypeError(f"the loss {loss_fns[0]!r} has no batched(model, x, y): a loss whose spec declares "
                        "batchable must provide it (see LossSpec)")
    keep_freed_memory()
    start = time.perf_counter()
    count = len(models)
    with_module = isinstance(loss_fns[0], torch.nn.Module)
    n = len(ys[0])
    per_epoch = max(1, -(-n // max(1, batch_size)))
    totals = [s["steps"] if s["steps"] is not None else per_epoch * (s["epochs"] or 1) for s in settings]
    total = max(totals)
    # fit cuts each epoch's permutation with tensor_split: the same cuts for every model of the group
    cuts = [len(part) for part in torch.arange(n).tensor_split(per_epoch)]
    generators = [torch.Generator().manual_seed(int(seed)) for seed in seeds]
    x_each = [torch.as_tensor(x) for x in xs]
    y_each = [torch.as_tensor(y) for y in ys]
    for model in models:
        model.train()
    done, last = 0, [None] * count
    running = [m for m in range(count) if totals[m] > 0]  # the models that have steps left
    active: list = []  # the models in the stack now (stack slice k is models[active[k]])
    optimiser = stacked_model = loss_stack = None
    members: list = []
    losses_of: list = []
    while done < total:
        if running != active:  # the first epoch, or models done: (re)stack those with steps left
            keep = [active.index(m) for m in running] if active else None
            if keep is not None:  # those that go on are stacked anew from their current weights
                _copy_out(stacked_model, loss_stack, members, losses_of, keep)
            stacked_model, stacked_loss, optimiser = _stack([models[m] for m in running], [loss_fns[m] for m in running],
                                                            [settings[m] for m in running], optimiser, keep)
            if optimiser is None:  # nothing to train
                seed_torch(int(seeds[-1]))  # the global state fit leaves after the last model
                return [{"steps": 0, "last_loss": None, "seconds": 0.0} for _ in models]
            active = list(running)
            x_all = torch.stack([x_each[m] for m in active])
            y_all = torch.stack([y_each[m] for m in active])
            offsets = (torch.arange(len(active)) * n).unsqueeze(1)
            x_rows = x_all.view(len(active) * n, *x_all.shape[2:])
            y_rows = y_all.view(len(active) * n, *y_all.shape[2:])
            members = [models[m] for m in active]
            losses_of = [loss_fns[m] for m in active]
            loss_stack = stacked_loss if with_module else None
        # Each model's rows in its own epoch order; a batch gathers its rows of every model at once.
        order = torch.stack([torch.randperm(n, generator=generators[m]) for m in active]) + offsets
        begin = 0
        for size in cuts:
            rows = order[:, begin:begin + size].reshape(-1)
            xb = x_rows.index_select(0, rows).view(len(active), size, *x_all.shape[2:])
            yb = y_rows.index_select(0, rows).view(len(active), size, *y_all.shape[2:])
            begin += size
            ending = [k for k, m in enumerate(active) if m in running and totals[m] == done + 1]
            if ending:
                for k, value in zip(ending, _losses_alone(stacked_model, loss_stack, members, losses_of, xb, yb, ending)):
                    last[active[k]] = value
            losses = stacked_loss.batched(stacked_model, xb, yb)
            live = [k for k, m in enumerate(active) if m in running]
            finite = torch.isfinite(losses.detach()[live])
            if not bool(finite.all()):  # as fit: no step is taken on a non-finite loss
                bad = live[int((~finite).nonzero()[0, 0])]
                raise diverged(f"the training loss was {float(losses.detach()[bad])} at step {done + 1} of "
                               f"{totals[active[bad]]}", done + 1, active[bad])
            optimiser.zero_grad()
            losses.sum().backward()
            optimiser.step()
            done += 1
            if ending:  # these models are done: copy them out; the next epoch goes on without them
                _copy_out(stacked_model, loss_stack, members, losses_of, ending)
                running = [m for m in running if m not in {active[k] for k in ending}]
            if done >= total:
                break
    for m, model in enumerate(models):
        model.eval()
        check_finite_parameters([model, loss_fns[m]], totals[m], m)
    # fit seeds the global generator with its model's seed and a batchable loss draws nothing from it:
    # leave it as training the models one by one would.
    seed_torch(int(seeds[-1]))
    share = (time.perf_counter() - start) / count
    return [{"steps": steps, "last_loss": loss, "seconds": share} for steps, loss in zip(totals, last)]


def _stack(models, loss_fns, settings, before, keep):
    """``(stacked model, stacked loss, optimiser)`` for ``models``, the optimiser None when they have nothing
    to train; it carries on from ``before`` (the optimiser of the previous stack) for its models ``keep``."""
    import torch

    with_module = isinstance(loss_fns[0], torch.nn.Module)
    stacked_model = stack_modules(models)
    stacked_loss = stack_modules(loss_fns) if with_module else loss_fns[0]
    stacked_model.train()
    params = [p for p in stacked_model.parameters() if p.requires_grad]
    if with_module:
        params += [p for p in stacked_loss.parameters() if p.requires_grad]
    if not params:
        return stacked_model, stacked_loss, None
    optimiser = StackedAdam(params, lr=[s["lr"] for s in settings], weight_decay=[s["weight_decay"] for s in settings])
    if before is not None:
        optimiser.carry_on(before, keep)
    return stacked_model, stacked_loss, optimiser


def _copy_out(stacked_model, stacked_loss, models, loss_fns, which) -> None:
    """Copy the weights of the models ``which`` (positions) out of the stacked ones into their own."""
    if len(which) == len(models):
        unstack_into(stacked_model, models)
        if stacked_loss is not None:
            unstack_into(stacked_loss, loss_fns)
        return
    for m in which:
        unstack_into(stacked_model, [models[m]], m)
        if stacked_loss is not None:
            unstack_into(stacked_loss, [loss_fns[m]], m)


def _losses_alone(stacked_model, stacked_loss, models, loss_fns, xb, yb, which) -> list[float]:
    """The loss of each of the models ``which`` on its batch as fit reports it (``last_loss``): its own loss
    on its own copy."""
    import torch

    _copy_out(stacked_model, stacked_loss, models, loss_fns, which)
    with torch.no_grad():
        return [float(loss_fns[m](models[m], xb[m].clone(), yb[m].clone())) for m in which]
