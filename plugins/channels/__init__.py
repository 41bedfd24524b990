"""Built-in recording channels for corpus expressions (``ravdess+telephone``): one channel per file."""
