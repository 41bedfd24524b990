"""``ser-bench new loss|encoder|dataset|head|protocol|feature NAME``: write a working one-file plugin
and its test.

The generated plugin runs as written (it passes the conformance checks, its declared defaults
included); edit its body to make it yours. Its defaults are written once, in the factory's signature,
and declared with :func:`~ser_bench.plugin_api.params.defaults_of`.
"""
from __future__ import annotations

import keyword
from pathlib import Path

from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.types import SINGULAR

LOSS = '''"""{name}: <one line on what the loss does, and the paper it comes from>."""
from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of
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
    return [LossSpec(name="{name}", build=build, params=defaults_of(build, "losses"), output="embedding",
                     default_head="prototype", encoder_kinds=("siamese", "embedding"),
                     summary="<what it does>", reference="<paper>")]
'''

ENCODER = '''"""{name}: <one line on the architecture>."""
from functools import lru_cache

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import EncoderSpec


@lru_cache(maxsize=None)
def module_class():
    from torch import nn

    from ser_bench.plugin_kit.helpers import block_encoder

    class Encoder(block_encoder()):
        def __init__(self, input_dim: int, width: int, embedding: int) -> None:
            super().__init__()
            self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(input_dim, width), nn.ReLU()),
                                         nn.Linear(width, embedding)])

    return Encoder


def build(input_dim: int, width: int = 32, embedding: int = 16):
    return module_class()(input_dim, width, embedding)


@hookimpl
def ser_bench_encoders():
    return [EncoderSpec(name="{name}", build=build, kind="embedding", params=defaults_of(build, "encoders"),
                        summary="<what it is>")]
'''

DATASET = '''"""{name}: <corpus name, speakers, emotions, citation>.

Layout: ``<root>/<speaker>/<emotion>/<anything>.wav`` with emotions in the common vocabulary.
"""
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import VOCABULARY, audio_files, manifest_from_files
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
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import HeadSpec


def predict(model, x_test, x_support, y_support, n_classes, k: int = 1, **_):
    """Majority class of the k nearest support clips by cosine similarity (replace with your head)."""
    import torch
    import torch.nn.functional as F

    from ser_bench.plugin_kit.helpers import embed

    z_s, z_t = F.normalize(embed(model, x_support), dim=1), F.normalize(embed(model, x_test), dim=1)
    nearest = (z_t @ z_s.T).topk(min(k, len(y_support))).indices
    votes = torch.zeros(len(z_t), n_classes).scatter_add_(1, y_support[nearest], torch.ones(nearest.shape))
    return votes.argmax(1)


@hookimpl
def ser_bench_heads():
    return [HeadSpec(name="{name}", predict=predict, params=defaults_of(predict, "heads"), needs="embedding",
                     summary="<what it does>", reference="<paper>")]
'''

PROTOCOL = '''"""{name}: <one line on how the protocol splits the corpora into training, support and test clips>."""
from ser_bench import hookimpl
from ser_bench.plugin_api.params import at_least, defaults_of
from ser_bench.plugin_api.types import ProtocolSpec, Split, Subset


def splits(data, seed: int, folds: int = 4):
    """Speaker-independent k-fold on the target: each fold tests on a random group of speakers, trained
    on and scored against the others (replace with your protocol; ``data.source`` is the source corpus
    when the spec says ``needs_source=True``)."""
    import numpy as np

    speakers = data.target["speaker"].astype(str).to_numpy()
    order = np.random.default_rng(seed).permutation(sorted(set(speakers)))
    out = []
    for i, group in enumerate(np.array_split(order, min(int(folds), len(order)))):
        held = np.isin(speakers, group)
        test = tuple(int(j) for j in np.flatnonzero(held))
        train = tuple(int(j) for j in np.flatnonzero(~held))
        out.append(Split(name=f"fold{{i}}", train=Subset("target", train), support=Subset("target", train),
                         test=Subset("target", test), info={{"fold": i, "test_speakers": sorted(group.tolist())}}))
    return out


@hookimpl
def ser_bench_protocols():
    return [ProtocolSpec(name="{name}", splits=splits, params=defaults_of(splits, "protocols"),
                         bounds={{"folds": at_least(2)}}, summary="<what it measures>", reference="<paper>")]
'''

FEATURE = '''"""{name}: <one line on what the features measure, and the paper or toolkit they come from>."""
from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import FeatureSpec

COLUMNS = ["log_energy_mean", "log_energy_std", "zero_crossings_mean", "zero_crossings_std"]


class Extractor:
    """Mean and standard deviation over frames of log energy and zero-crossing rate (replace with yours)."""

    columns = COLUMNS

    def __init__(self, frame_ms: float) -> None:
        self.frame_ms = frame_ms

    def __call__(self, signal, sample_rate: int):
        import numpy as np

        size = max(1, int(sample_rate * self.frame_ms / 1000))
        usable = max(size, len(signal) // size * size)
        frames = np.resize(np.asarray(signal, dtype=np.float64)[:usable], usable).reshape(-1, size)
        energy = np.log(np.mean(frames ** 2, axis=1) + 1e-10)
        crossings = np.mean(np.abs(np.diff(np.sign(frames), axis=1)) > 0, axis=1)
        return np.array([energy.mean(), energy.std(), crossings.mean(), crossings.std()])


def build(frame_ms: float = 25.0):
    """The extractor (import heavy toolkits inside it, not at the top: listing plugins must stay fast)."""
    return Extractor(frame_ms)


@hookimpl
def ser_bench_features():
    # Bump version whenever the same audio would give other numbers: it is part of the cache key.
    return [FeatureSpec(name="{name}", build=build, params=defaults_of(build, "features"), version="1",
                        dim=len(COLUMNS), summary="<what it measures>", reference="<paper or toolkit>")]
'''

TEST = '''"""Conformance test for the {kind} plugin {name!r} (run with pytest)."""
from pathlib import Path

from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.plugin_kit.testing import check_defaults, {check}

HERE = Path(__file__).resolve().parent


def test_{ident}_conforms(tmp_path):
    registry = load_registry(PluginSettings(plugins_dir=str(HERE), strict=True))
    check_defaults({kinds!r}, {name!r}, registry)
{body}
'''

BODIES = {
    "loss": "    check_loss({name!r}, registry)",
    "encoder": "    check_encoder({name!r}, registry)",
    "head": "    check_head({name!r}, registry)",
    "protocol": "    check_protocol({name!r}, registry)",
    "feature": "    check_feature({name!r}, registry)",
    "dataset": ("    import numpy as np\n    import soundfile as sf\n\n"
                "    from ser_bench.plugin_api.context import RunContext\n\n"
                "    clip = tmp_path / {name!r} / \"speaker1\" / \"anger\" / \"a.wav\"\n"
                "    clip.parent.mkdir(parents=True)\n"
                "    sf.write(str(clip), np.zeros(16000, dtype=\"float32\"), 16000)\n"
                "    ctx = RunContext(data_dirs=[tmp_path], cache_dir=tmp_path / \"cache\")\n"
                "    check_dataset({name!r}, ctx, registry)"),
}
TEMPLATES = {"loss": (LOSS, "check_loss"), "encoder": (ENCODER, "check_encoder"),
             "dataset": (DATASET, "check_dataset"), "head": (HEAD, "check_head"),
             "protocol": (PROTOCOL, "check_protocol"), "feature": (FEATURE, "check_feature")}


_PLURAL = {singular: kind for kind, singular in SINGULAR.items()}


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
             folder / f"test_{ident}.py": TEST.format(kind=kind, kinds=_PLURAL[kind], name=name, check=check,
                                                       ident=ident, body=BODIES[kind].format(name=name))}
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise SerBenchError(f"{existing[0]} exists; pass --force to overwrite")
    for path, text in files.items():
        path.write_text(text)
    return list(files)
