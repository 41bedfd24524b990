"""What a plugin may use of ser-bench besides the contract (:mod:`ser_bench.plugin_api`): the building
blocks the built-in plugins are made of, under names that stay put. Everything else in ser-bench is
internal and may move between releases.

- datasets: :class:`CorpusDescription` and :func:`dataset_from` (a corpus described in one record, no
  loader code), or :func:`audio_files`, :func:`manifest_from_files`, the audio suffixes libsndfile (and PyAV)
  read, :data:`VOCABULARY` and :func:`add_dimensions` (valence/arousal of categorical labels);
- features and channels: :func:`resample`;
- encoders: :func:`block_encoder`; heads: :func:`embed`, :func:`standardised_probe`, :func:`decide`
  (the Siamese decision rules) and :func:`decision_scores` (their per-class scores); class probabilities:
  :func:`standardised_probabilities` (a classifier's ``predict_proba``), :func:`tempered_probabilities`
  (a softmax over a head's scores, temperature fitted leave-one-out on the support set) and
  :func:`fit_temperature`; losses: :func:`all_pairs`, :func:`pair_distances`;
- protocols: :func:`choose_speakers`, :func:`rows_of_speakers`;
- executors: :func:`start_worker`, :func:`stop_workers` (worker processes that never outlive the run),
  :func:`signals_deferred` (no Ctrl-C half-way through starting one);
- caches of a plugin's own: :func:`write_atomic` (no reader or crash ever sees part of a file).
"""
# Loaded on first use (PEP 562), so that a plugin importing one helper at its top does not pull in
# numpy or torch when ser-bench only lists plugins: the name -> the module that defines it.
_HOMES = {
    "write_atomic": "ser_bench.cache_store",
    "resample": "ser_bench.data.audio",
    **dict.fromkeys(("ANY_AUDIO_EXTENSION", "ANY_SOUND_EXTENSION", "AUDIO_SUFFIXES", "SOUND_SUFFIXES",
                     "audio_files", "manifest_from_files"), "ser_bench.data.corpus"),
    "add_dimensions": "ser_bench.data.labels",
    "CorpusDescription": "ser_bench.data.described", "dataset_from": "ser_bench.data.described",
    "decide": "ser_bench.model.decision", "decision_scores": "ser_bench.model.decision",
    "embed": "ser_bench.model.heads", "standardised_probe": "ser_bench.model.heads",
    "standardised_probabilities": "ser_bench.model.heads",
    "fit_temperature": "ser_bench.model.calibration", "tempered_probabilities": "ser_bench.model.calibration",
    "block_encoder": "ser_bench.model.modules",
    "all_pairs": "ser_bench.model.pairs", "pair_distances": "ser_bench.model.pairs",
    "VOCABULARY": "ser_bench.plugin_api.vocabulary",
    **dict.fromkeys(("signals_deferred", "start_worker", "stop_workers"), "ser_bench.processes.workers"),
    "choose_speakers": "ser_bench.running.splits", "rows_of_speakers": "ser_bench.running.splits",
}
_RENAMED = {"decide": "predict", "decision_scores": "class_scores"}  # the name here -> the name in its module

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    import importlib

    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_HOMES})
