"""Models: training an encoder with a loss, building blocks for encoders, pair construction,
evaluation heads, the support-set decision rule, per-split metrics, the trained-model cache.
"""
