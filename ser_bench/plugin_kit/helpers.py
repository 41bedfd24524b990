"""What a plugin may use of ser-bench besides the contract (:mod:`ser_bench.plugin_api`): the building
blocks the built-in plugins are made of, under names that stay put. Everything else in ser-bench is
internal and may move between releases.

- datasets: :func:`audio_files`, :func:`manifest_from_files`, the audio suffixes libsndfile (and PyAV)
  read, :data:`VOCABULARY` and :func:`add_dimensions` (valence/arousal of categorical labels);
- features and channels: :func:`resample`;
- encoders: :func:`block_encoder`; heads: :func:`embed`, :func:`standardised_probe`, :func:`decide`
  (the Siamese decision rules); losses: :func:`all_pairs`, :func:`pair_distances`;
- protocols: :func:`choose_speakers`, :func:`rows_of_speakers`;
- executors: :func:`start_worker`, :func:`stop_workers` (worker processes that never outlive the run),
  :func:`signals_deferred` (no Ctrl-C half-way through starting one);
- caches of a plugin's own: :func:`write_atomic` (no reader or crash ever sees part of a file).
"""
from ser_bench.cache_store import write_atomic
from ser_bench.data.audio import resample
from ser_bench.data.corpus import (ANY_AUDIO_EXTENSION, ANY_SOUND_EXTENSION, AUDIO_SUFFIXES, SOUND_SUFFIXES,
                                   audio_files, manifest_from_files)
from ser_bench.data.labels import add_dimensions
from ser_bench.model.decision import predict as decide
from ser_bench.model.heads import embed, standardised_probe
from ser_bench.model.modules import block_encoder
from ser_bench.model.pairs import all_pairs, pair_distances
from ser_bench.plugin_api.vocabulary import VOCABULARY
from ser_bench.processes.workers import signals_deferred, start_worker, stop_workers
from ser_bench.running.splits import choose_speakers, rows_of_speakers

__all__ = ["ANY_AUDIO_EXTENSION", "ANY_SOUND_EXTENSION", "AUDIO_SUFFIXES", "SOUND_SUFFIXES", "VOCABULARY",
           "add_dimensions", "all_pairs", "audio_files", "block_encoder", "choose_speakers", "decide", "embed",
           "manifest_from_files", "pair_distances", "resample", "rows_of_speakers", "standardised_probe",
           "signals_deferred", "start_worker", "stop_workers", "write_atomic"]
