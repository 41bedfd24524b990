"""ssl: pooled hidden states of a self-supervised speech model (wav2vec 2.0, HuBERT, WavLM, data2vec-audio).

``--feature ssl --feature-param ssl.model=microsoft/wavlm-base-plus`` (a hub id in the local cache or a
folder written by ``save_pretrained``), with

- ``layers``: one layer (``3``; ``-1`` the last; the default: the last), several (``0,6,12``:
  concatenated), ``stack`` (every layer in one vector, for the ``layer-weighted`` encoder) or ``all``
  (one cell per layer: the layer-wise view). Layer 0 is the transformer's input.
- ``pooling``: ``mean`` or ``mean+std`` over the clip's frames.
- ``dtype``: ``float32``, ``bfloat16`` (autocast) or ``auto`` (bfloat16 on a GPU that has it).
- ``device``: ``auto``, ``cpu`` or ``cuda`` (``--device``); the cell records the device it resolves to.

Every layer is extracted and cached once per clip, keyed by the model's revision and the hash of its
files; a cell then takes its layers from that cache. Audio is read as mono at the model's rate.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import FeatureSpec

from .ssl_model import checkpoint_sha256, locate, model_config

POOLINGS = {"mean": 1, "mean+std": 2}
DTYPES = ("float32", "bfloat16", "auto")


def _layout(model: str, revision: str = ""):
    """``(checkpoint, number of transformer layers, hidden size)``."""
    checkpoint = locate(model, revision)
    config = model_config(checkpoint.folder)
    return checkpoint, int(config.num_hidden_layers), int(config.hidden_size)


def parse_layers(layers, n: int) -> list[int]:
    """``layers`` as hidden-state indices 0..n (``None``: the last; ``stack``: all, in order)."""
    if layers is None or layers == "last":
        return [n]
    if layers == "stack":
        return list(range(n + 1))
    if layers == "all":
        raise SerBenchError("ssl.layers=all makes one cell per layer, as the grid expands it "
                            "(ser-bench run, or running.grid.expand); for every layer in one vector give "
                            "ssl.layers=stack")
    items = layers if isinstance(layers, (list, tuple)) else [layers]
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or not -(n + 1) <= item <= n:
            raise SerBenchError(f"ssl.layers={layers!r}: this model has hidden states 0..{n} (0: the transformer's "
                                f"input; -1: the last); give a layer, a list (0,6,12), stack or all")
        out.append(item % (n + 1))
    if len(set(out)) != len(out):
        raise SerBenchError(f"ssl.layers={layers!r} names a layer twice")
    return out


def _device(device: str) -> str:
    if device not in ("auto", "cpu") and not str(device).startswith("cuda"):
        raise SerBenchError(f"ssl.device={device!r}: give auto, cpu or cuda (or cuda:N)")
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve(model: str = "microsoft/wavlm-base-plus", revision: str = "", sha256: str = "", layers=None,
            pooling: str = "mean", dtype: str = "float32", device: str = "auto") -> dict:
    """The parameters as this machine resolves them: the hub commit, the checkpoint's hash (refused when
    a given ``sha256`` differs: the model changed), the layer indices, the device and dtype."""
    checkpoint, n, _ = _layout(model, revision)
    digest = checkpoint_sha256(checkpoint.folder)
    if sha256 and sha256 != digest:
        raise SerBenchError(f"ssl model {model!r} has changed: its files hash to {digest}, not the ssl.sha256 "
                            f"{sha256} given; drop ssl.sha256 to use the model as it is now")
    if pooling not in POOLINGS:
        raise SerBenchError(f"ssl.pooling={pooling!r}: give {' or '.join(POOLINGS)}")
    if dtype not in DTYPES:
        raise SerBenchError(f"ssl.dtype={dtype!r}: give {', '.join(DTYPES)}")
    device = _device(device)
    if dtype == "auto":
        import torch

        on_gpu = device.startswith("cuda") and torch.cuda.is_available()
        dtype = "bfloat16" if on_gpu and torch.cuda.is_bf16_supported() else "float32"
    return {"model": checkpoint.model, "revision": checkpoint.revision, "sha256": digest,
            "layers": parse_layers(layers, n), "pooling": pooling, "dtype": dtype, "device": device}


def build(model: str = "microsoft/wavlm-base-plus", revision: str = "", sha256: str = "", layers=None,
          pooling: str = "mean", dtype: str = "float32", device: str = "auto"):
    """The extractor (loads the model; imports torch and transformers only when called)."""
    from .ssl_extractor import SSLExtractor

    params = resolve(model, revision, sha256, layers, pooling, dtype, device)
    folder = locate(params["model"], params["revision"]).folder
    return SSLExtractor(folder, params["layers"], params["pooling"], params["dtype"], params["device"])


def variants(**params) -> list[dict]:
    """``layers=all``: one parameter set per hidden state 0..n; otherwise the parameters as given."""
    if params.get("layers") != "all":
        return [params]
    _, n, _ = _layout(params["model"], params.get("revision", ""))
    return [{**params, "layers": [layer]} for layer in range(n + 1)]


def dim_of(**params) -> int:
    _, n, width = _layout(params["model"], params.get("revision", ""))
    return len(parse_layers(params.get("layers"), n)) * width * POOLINGS[params.get("pooling", "mean")]


def store(**params) -> dict:
    """What is extracted and cached for a cell: every layer, whichever the cell uses."""
    _, n, _ = _layout(params["model"], params.get("revision", ""))
    return {**params, "layers": list(range(n + 1))}


def select(values, **params):
    """The cell's layers from the (clips x every layer) matrix :func:`store` names."""
    _, n, width = _layout(params["model"], params.get("revision", ""))
    block = width * POOLINGS[params.get("pooling", "mean")]
    layers = parse_layers(params.get("layers"), n)
    return values.reshape(len(values), n + 1, block)[:, layers].reshape(len(values), len(layers) * block)


def example(folder) -> dict:
    """A tiny random WavLM written under ``folder``, on the CPU: what the conformance check runs on."""
    from pathlib import Path

    from .ssl_tiny import save_tiny_model

    return {"model": str(save_tiny_model(Path(folder) / "tiny-wavlm")), "device": "cpu"}


@hookimpl
def ser_bench_features():
    return [FeatureSpec(
        name="ssl", build=build, version="1", dim=0, params=defaults_of(build, "features"),
        dim_of=dim_of, resolve=resolve, variants=variants, store=store, select=select, shares=("layers",),
        batched=True, example=example,
        summary="self-supervised speech model (wav2vec2, HuBERT, WavLM, data2vec-audio), pooled per layer",
        reference="Baevski et al. (2020) wav2vec 2.0; Hsu et al. (2021) HuBERT; Chen et al. (2022) WavLM; "
                  "Yang et al. (2021) SUPERB (layer-weighted sum)",
    )]
