"""Seeding the global torch generator, cheaply where no accelerator can be used."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _accelerator_present() -> bool:
    import torch

    xpu = getattr(torch, "xpu", None)
    return bool(torch.cuda.is_available() or torch.backends.mps.is_available()
                or (xpu is not None and xpu.is_available()))


def seed_torch(seed: int) -> None:
    """``torch.manual_seed(seed)``: the CPU generator is seeded the same way.

    Where no CUDA, MPS or XPU device is available, only the CPU generator is seeded: ``torch.manual_seed``
    also queues a seeding of the (uninitialised) CUDA generators together with a formatted stack trace,
    a cost of a fraction of a millisecond to a few that tuning, which seeds thousands of times, paid for
    nothing. Where an accelerator is available every generator is seeded, as before."""
    import torch

    if _accelerator_present():
        torch.manual_seed(int(seed))
    else:
        torch.default_generator.manual_seed(int(seed))
