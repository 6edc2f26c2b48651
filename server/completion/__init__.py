"""The completion engine: context retrieval, prompt assembly, model backends, caching, cancellation."""
