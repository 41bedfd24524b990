"""The built-in plugins of ser-bench (installed as the ``ser_bench_plugins`` package).

They register through the same hooks as third-party plugins; this list only says which modules the
plugin manager imports first.
"""

BUILTIN_MODULES = [
    "datasets.ravdess", "datasets.crema", "datasets.enterface",
    "datasets.emodb", "datasets.tess", "datasets.savee", "datasets.turev", "datasets.csv_manifest",
    "datasets.emovo",
    "datasets.iemocap", "datasets.msp_podcast",
    "datasets.casia", "datasets.esd", "datasets.shemo", "datasets.cafe", "datasets.aesdd", "datasets.subesco",
    "datasets.jl", "datasets.mesd", "datasets.ased", "datasets.urdu", "datasets.nemo", "datasets.msp_improv",
    "datasets.sim_ravdess", "datasets.sim_crema", "datasets.sim_enterface", "datasets.corpus_expressions",
    "features.is09_64", "features.is09", "features.egemaps", "features.ssl",
    "encoders.siamese_mlp", "encoders.mlp", "encoders.dae", "encoders.identity", "encoders.layer_weighted",
    "losses.bce_pair", "losses.ratio_distance", "losses.cross_entropy",
    "losses.contrastive", "losses.triplet", "losses.supcon", "losses.multi_similarity", "losses.pml",
    "losses.continuous_slope", "losses.log_ratio",
    "losses.logreg", "losses.linear_svm", "losses.softmax_mlp",
    "protocols.oodt", "protocols.idt", "protocols.fewshot", "protocols.official", "protocols.speaker_folds",
    "executors.serial", "executors.process", "executors.ray_executor",
    "recipes.feng2020", "recipes.cross_corpus",
    "heads.siamese", "heads.prototype", "heads.knn", "heads.linear", "heads.linear_svm",
    "channels.telephone", "channels.opus", "channels.mp3", "channels.noise", "channels.reverb",
]
