"""A tiny randomly initialised speech model, saved as a user's checkpoint would be.

Tests, the conformance check, the benchmark and the README's smoke-test figure load it through the
same path as a real checkpoint (``--feature-param ssl.model=FOLDER``), since nothing may download.
Like the published models it gives a frame every 20 ms (320 samples at 16 kHz), but from three
convolutions of 32 channels (the first a 40-sample window, 320 samples of receptive field) instead
of seven of 512, and two transformer layers of width 32. Small as it is, it is dominated by the
fixed cost of a forward pass, which is what the batching benchmark measures.
Its features are noise shaped by random weights: fit for checking the machinery, not for results.
"""
from __future__ import annotations

from pathlib import Path

from .ssl_model import require_transformers

CLASSES = {"wavlm": ("WavLMConfig", "WavLMModel"), "wav2vec2": ("Wav2Vec2Config", "Wav2Vec2Model"),
           "hubert": ("HubertConfig", "HubertModel"), "data2vec-audio": ("Data2VecAudioConfig", "Data2VecAudioModel")}
CONV = {"conv_dim": (32, 32, 32), "conv_kernel": (40, 4, 2), "conv_stride": (40, 4, 2)}


def save_tiny_model(folder, family: str = "wavlm", norm: str = "group", seed: int = 0, layers: int = 2,
                    hidden_size: int = 32) -> Path:
    """Write a tiny random ``family`` model (``norm``: ``group`` like the base-size models, ``layer`` like
    the large ones) and its feature extractor to ``folder``; the same arguments give the same files."""
    transformers = require_transformers()
    import torch

    config_class, model_class = (getattr(transformers, name) for name in CLASSES[family])
    options = dict(hidden_size=hidden_size, num_hidden_layers=layers, num_attention_heads=2,
                   intermediate_size=2 * hidden_size, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                   **CONV)
    if family != "data2vec-audio":  # data2vec-audio always normalises its convolutions per frame
        options.update(feat_extract_norm=norm, do_stable_layer_norm=norm == "layer", conv_bias=norm == "layer")
    torch.manual_seed(seed)
    model = model_class(config_class(**options)).eval()
    folder = Path(folder)
    model.save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                          return_attention_mask=True).save_pretrained(folder)
    return folder
