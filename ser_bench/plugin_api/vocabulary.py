"""The common emotion vocabulary: every dataset plugin maps its own codes to these names (its
``label_map`` says how, and the map is recorded in every result); ``--labels`` names a subset."""

VOCABULARY = ("anger", "happiness", "sadness", "fear", "neutral", "disgust", "surprise", "calm", "boredom")
