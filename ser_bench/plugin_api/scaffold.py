"""``ser-bench new loss|encoder|dataset|head NAME``: write a working one-file plugin and its test.

The generated plugin runs as written (it passes the conformance checks); edit its body to make it yours.
"""
from __future__ import annotations

import keyword
from pathlib import Path

from ser_bench.errors import SerBenchError

LOSS = '''"""{name}: <one line on what the loss does, and the paper it comes from>."""
from ser_bench import hookimpl
from ser_bench.plugin_api.types import LossSpec


def build(weight: float = 1.0):
    """Pulls each embedding towards the mean of its class in the batch (replace with your loss)."""
    def loss(model, x, y):
        import torch

        z = model.embed(x)
        classes = torch.unique(y)
        centres = torch.stack([z[y == c].mean(0) for c in classes])
        own = centres[torch.searchsorted(classes, y)]
        return weight * (z - own).pow(2).sum(-1).mean()
    return loss


@hookimpl
def ser_bench_losses():
    return [LossSpec(name="{name}", build=build, params={{"weight": 1.0}}, output="embedding",
                     default_head="prototype", encoder_kinds=("siamese", "embedding"),
                     summary="<what it does>", reference="<paper>")]
'''

ENCODER = '''"""{name}: <one line on the architecture>."""
from functools import lru_cache

from ser_bench import hookimpl
from ser_bench.plugin_api.types import EncoderSpec


@lru_cache(maxsize=None)
def module_class():
    from torch import nn

    from ser_bench.model.modules import block_encoder

    class Encoder(block_encoder()):
        def __init__(self, input_dim: int, width: int = 32, embedding: int = 16) -> None:
            super().__init__()
            self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(input_dim, width), nn.ReLU()),
                                         nn.Linear(width, embedding)])

    return Encoder


def build(input_dim: int, width: int = 32, embedding: int = 16):
    return module_class()(input_dim, width, embedding)


@hookimpl
def ser_bench_encoders():
    return [EncoderSpec(name="{name}", build=build, kind="embedding", params={{"width": 32, "embedding": 16}},
                        summary="<what it is>")]
'''

DATASET = '''"""{name}: <corpus name, speakers, emotions, citation>.

Layout: ``<root>/<speaker>/<emotion>/<anything>.wav`` with emotions in the common vocabulary.
"""
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.data.corpus import audio_files, manifest_from_files
from ser_bench.data.labels import VOCABULARY
from ser_bench.plugin_api.types import DatasetSpec


def parse(path: Path) -> dict:
    emotion, speaker = path.parent.name, path.parent.parent.name
    if emotion not in VOCABULARY:
        raise ValueError(f"folder {{emotion!r}} is not an emotion of the common vocabulary")
    return {{"speaker": speaker, "emotion": emotion}}


def load(ctx):
    root = ctx.find_corpus("{name}", SPEC.folder_names)
    return manifest_from_files(audio_files(root), parse, "{name}", "en", ctx.report_bad_file,
                               "expected <speaker>/<emotion>/*.wav")


SPEC = DatasetSpec(name="{name}", load=load, summary="<what it is>", folder_names=("{name}",),
                   homepage="<where to get it>", licence="<licence>", reference="<citation>")


@hookimpl
def ser_bench_datasets():
    return [SPEC]
'''

HEAD = '''"""{name}: <one line on how a test clip gets its class from the support set>."""
from ser_bench import hookimpl
from ser_bench.plugin_api.types import HeadSpec


def predict(model, x_test, x_support, y_support, n_classes, k: int = 1, **_):
    """Majority class of the k nearest support clips by cosine similarity (replace with your head)."""
    import torch
    import torch.nn.functional as F

    from ser_bench.model.heads import embed

    z_s, z_t = F.normalize(embed(model, x_support), dim=1), F.normalize(embed(model, x_test), dim=1)
    nearest = (z_t @ z_s.T).topk(min(k, len(y_support))).indices
    votes = torch.zeros(len(z_t), n_classes).scatter_add_(1, y_support[nearest], torch.ones(nearest.shape))
    return votes.argmax(1)


@hookimpl
def ser_bench_heads():
    return [HeadSpec(name="{name}", predict=predict, params={{"k": 1}}, needs="embedding",
                     summary="<what it does>", reference="<paper>")]
'''

TEST = '''"""Conformance test for the {kind} plugin {name!r} (run with pytest)."""
from pathlib import Path

from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.plugin_api.testing import {check}

HERE = Path(__file__).resolve().parent


def test_{ident}_conforms(tmp_path):
    registry = load_registry(PluginSettings(plugins_dir=str(HERE), strict=True))
{body}
'''

BODIES = {
    "loss": "    check_loss({name!r}, registry)",
    "encoder": "    check_encoder({name!r}, registry)",
    "head": "    check_head({name!r}, registry)",
    "dataset": ("    import numpy as np\n    import soundfile as sf\n\n    from ser_bench.plugin_api.context import RunContext\n\n"
                "    clip = tmp_path / {name!r} / \"speaker1\" / \"anger\" / \"a.wav\"\n"
                "    clip.parent.mkdir(parents=True)\n"
                "    sf.write(str(clip), np.zeros(16000, dtype=\"float32\"), 16000)\n"
                "    check_dataset({name!r}, RunContext(data_dirs=[tmp_path], cache_dir=tmp_path / \"cache\"), registry)"),
}
TEMPLATES = {"loss": (LOSS, "check_loss"), "encoder": (ENCODER, "check_encoder"), "dataset": (DATASET, "check_dataset"),
             "head": (HEAD, "check_head")}


def write_plugin(kind: str, name: str, folder: Path, force: bool = False) -> list[Path]:
    """Write ``folder/<ident>.py`` and ``folder/test_<ident>.py``; returns both paths."""
    if kind not in TEMPLATES:
        raise SerBenchError(f"can scaffold {', '.join(TEMPLATES)}, not {kind!r}")
    ident = name.replace("-", "_")
    if not ident.isidentifier() or keyword.iskeyword(ident):
        raise SerBenchError(f"{name!r} is not a usable plugin name (letters, digits, _ or -; not a Python keyword)")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    template, check = TEMPLATES[kind]
    files = {folder / f"{ident}.py": template.format(name=name),
             folder / f"test_{ident}.py": TEST.format(kind=kind, name=name, check=check, ident=ident,
                                                       body=BODIES[kind].format(name=name))}
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise SerBenchError(f"{existing[0]} exists; pass --force to overwrite")
    for path, text in files.items():
        path.write_text(text)
    return list(files)
