"""The ssl extractor: a batch of clips through a self-supervised speech model, pooled per layer.

Padding must not change a clip's features, so that a clip gets the same numbers whatever batch it
lands in. Two things see the padding of a batch:

- the transformer layers: the attention mask (from the checkpoint's feature extractor, which also
  normalises each clip over its own samples) keeps them off the padded frames, and pooling averages
  only the clip's own frames;
- in ``feat_extract_norm="group"`` models (the base-size wav2vec 2.0, HuBERT and WavLM), the first
  convolution's GroupNorm, which normalises each channel over the whole time axis: over a padded
  batch the padding shifts every clip's statistics (a third of the features' norm for a clip padded
  to 16 times its length). That one layer therefore runs on each clip's own samples; the layers
  after it have no normalisation, and their frames inside a clip see only its samples;
- in data2vec-audio, a stack of positional convolutions: the encoder zeroes the padded frames before
  the first, but each one's output there is no longer zero, and the next reads it near the clip's end.
  The padded frames are zeroed again after each of them, as a clip alone sees zeros past its end.
"""
from __future__ import annotations

import warnings

import numpy as np

from ser_bench.plugin_kit.helpers import resample
from ser_bench.errors import SerBenchError

from .ssl_model import frames, load, receptive_field

# Clips per batch, and padded seconds per batch, by device: the H100 reference of issue 13 used 32.
BATCH = {"cuda": (32, 320.0), "cpu": (8, 80.0)}


def _first_conv_per_clip():
    import torch
    from torch import nn

    class FirstConvPerClip(nn.Module):
        """The first convolution layer of a group-norm feature encoder, run on each clip alone; its
        output is zero-padded to the batch's frame count (frames that the later layers use only for
        the padding's own frames). ``lengths`` (samples per clip) are set before each forward."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner
            self.lengths = None

        def forward(self, x):
            lengths = self.lengths or []
            if len(lengths) != x.shape[0] or all(n == x.shape[-1] for n in lengths):
                return self.inner(x)
            conv = self.inner.conv
            full = (x.shape[-1] - conv.kernel_size[0]) // conv.stride[0] + 1
            outs = [self.inner(x[i:i + 1, ..., :n]) for i, n in enumerate(lengths)]
            return torch.cat([nn.functional.pad(o, (0, full - o.shape[-1])) for o in outs])

    return FirstConvPerClip


class SSLExtractor:
    """Per clip: the hidden states of ``layers`` (0 = the transformer's input, i = layer i's output, as
    ``output_hidden_states`` gives them), each pooled over the clip's frames by ``pooling`` (``mean``:
    D values; ``mean+std``: D means then D standard deviations), concatenated layer after layer."""

    def __init__(self, folder, layers, pooling: str, dtype: str, device: str) -> None:
        import torch

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise SerBenchError(f"feature 'ssl' was asked to run on {device}, but this torch "
                                f"({torch.__version__}) sees no CUDA device. Use --device cpu (or auto); "
                                "features already cached for the cell are read without the device.")
        if dtype == "bfloat16" and device.startswith("cuda") and not torch.cuda.is_bf16_supported():
            raise SerBenchError(f"{torch.cuda.get_device_name(device)} has no bfloat16 support: use "
                                "--feature-param ssl.dtype=float32")
        self.processor, model = load(folder)
        self.config = model.config
        self.model = model.eval().to(device)
        self.layers, self.pooling, self.dtype, self.device = list(layers), pooling, dtype, device
        self.sample_rate = int(self.processor.sampling_rate)
        self.min_samples = receptive_field(self.config)
        size, seconds = BATCH["cuda" if device.startswith("cuda") else "cpu"]
        self.batch_size, self.batch_samples = size, seconds * self.sample_rate
        self._first_conv = None
        if getattr(self.config, "feat_extract_norm", "layer") == "group":
            convs = self.model.feature_extractor.conv_layers
            self._first_conv = convs[0] = _first_conv_per_clip()(convs[0])
        self._frames = None  # frames per clip of the batch being run
        positional = getattr(getattr(self.model, "encoder", None), "pos_conv_embed", None)
        for layer in list(getattr(positional, "layers", None) or [])[:-1]:
            layer.register_forward_hook(self._zero_padded_frames)
        stats = ["mean", "std"] if pooling == "mean+std" else ["mean"]
        width = self.config.hidden_size
        self.columns = [f"layer{layer}_{stat}{j}" for layer in self.layers for stat in stats for j in range(width)]

    def batch(self, signals, sample_rate: int) -> list:
        """One vector per clip of ``signals`` (mono float arrays at ``sample_rate`` Hz)."""
        import torch

        clips = [resample(np.asarray(s, dtype=np.float32), sample_rate, self.sample_rate) for s in signals]
        inputs = self.processor(clips, sampling_rate=self.sample_rate, padding=True, return_attention_mask=True,
                                return_tensors="pt")
        values = inputs["input_values"].to(self.device)
        mask = inputs["attention_mask"].to(self.device)
        lengths = mask.sum(-1)
        if self._first_conv is not None:
            self._first_conv.lengths = lengths.tolist()
        count = frames(lengths, self.config).clamp(min=1)
        self._frames = count
        on = "cuda" if self.device.startswith("cuda") else "cpu"
        with torch.inference_mode(), warnings.catch_warnings(), \
                torch.autocast(on, dtype=torch.bfloat16, enabled=self.dtype == "bfloat16"):
            # torch warns that WavLM mixes a boolean padding mask with a float position bias: harmless.
            warnings.filterwarnings("ignore", message=".*mismatched key_padding_mask and attn_mask.*")
            hidden = self.model(values, attention_mask=mask, output_hidden_states=True).hidden_states
            states = torch.stack([hidden[layer] for layer in self.layers], 1).float()  # (B, L, T, D)
        keep = (torch.arange(states.shape[2], device=states.device)[None] < count[:, None]).float()
        keep = keep[:, None, :, None]
        n = count.float()[:, None, None]
        mean = (states * keep).sum(2) / n
        parts = [mean]
        if self.pooling == "mean+std":
            parts.append(((((states - mean[:, :, None]) * keep) ** 2).sum(2) / n).sqrt())
        pooled = torch.cat(parts, -1).flatten(1)  # layer after layer: [mean (, std)] of each
        return list(pooled.cpu().numpy().astype(np.float32))

    def _zero_padded_frames(self, module, inputs, output):
        """Forward hook on a positional convolution (batch, channels, frames): padded frames set to zero."""
        import torch

        keep = torch.arange(output.shape[-1], device=output.device)[None] < self._frames[:, None]
        return output * keep[:, None, :].to(output.dtype)

    def __call__(self, signal, sample_rate: int) -> np.ndarray:
        """The vector of one clip (a batch of one)."""
        return self.batch([signal], sample_rate)[0]
