"""Adam as ``torch.optim.Adam`` computes it on the CPU, without ``torch.optim``'s start-up cost.

Every method of ``torch.optim.Optimizer`` (``add_param_group``, which its constructor calls,
``zero_grad``, ``step``) is wrapped to keep TorchDynamo out, and the wrapper imports ``torch._dynamo``
on its first call: about 1.3 s of CPU (sympy, the FX symbolic shapes...) in every process that
trains, so in every worker of a run, before its first fold. Nothing here is compiled, so that import
buys nothing.

:func:`adam_update` is ``torch.optim.Adam``'s single-tensor step (its CPU default: no ``foreach``, no
``fused``, L2 weight decay, no amsgrad, not maximising) op for op, and :class:`Adam` applies it to each
parameter in turn as ``torch.optim.Adam`` does: the weights come out bit for bit the same
(``tests/test_adam.py`` trains with both and compares). :class:`~ser_bench.model.stacked.StackedAdam`
applies the same step to many stacked models at once.
"""
from __future__ import annotations


def adam_update(param, grad, exp_avg, exp_avg_sq, step: float, *, lr: float, betas=(0.9, 0.999),
                eps: float = 1e-8, weight_decay: float = 0.0) -> None:
    """One Adam step of ``param`` in place (its moments ``exp_avg``, ``exp_avg_sq`` updated in place),
    ``step`` being this step's number counted from 1; the ops and their order are those of
    ``torch.optim.adam._single_tensor_adam`` with ``capturable=False, differentiable=False``."""
    beta1, beta2 = betas
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    step_size = lr / bias_correction1
    denom = (exp_avg_sq.sqrt() / bias_correction2**0.5).add_(eps)
    param.addcdiv_(exp_avg, denom, value=-step_size)


class Adam:
    """``torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)`` for real CPU tensors, minus the
    import: the same state (zero moments, a step count per parameter), the same skipping of a
    parameter without a gradient (no update, no weight decay, no step counted), the same step.

    Only what :func:`~ser_bench.model.training.fit` uses: ``zero_grad()`` (gradients set to None) and
    ``step()``. No parameter groups, schedulers or ``state_dict``.
    """

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.0, betas=(0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params = list(params)
        if any(p.is_complex() or p.is_sparse for p in self.params):
            raise ValueError("ser_bench.model.adam.Adam takes real dense parameters (use torch.optim.Adam)")
        self.lr, self.weight_decay, self.betas, self.eps = lr, weight_decay, betas, eps
        self.steps = [0.0] * len(self.params)
        self.moments: list = [None] * len(self.params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        import torch

        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                if self.moments[i] is None:
                    self.moments[i] = (torch.zeros_like(p, memory_format=torch.preserve_format),
                                       torch.zeros_like(p, memory_format=torch.preserve_format))
                self.steps[i] += 1.0
                adam_update(p, p.grad, *self.moments[i], self.steps[i], lr=self.lr, betas=self.betas,
                            eps=self.eps, weight_decay=self.weight_decay)
