"""The common emotion vocabulary every dataset plugin maps its own codes to."""

VOCABULARY = ("anger", "happiness", "sadness", "fear", "neutral", "disgust", "surprise", "calm", "boredom")
