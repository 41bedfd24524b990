"""Built-in evaluation heads, one per file: how a test clip gets a class from the support set."""
