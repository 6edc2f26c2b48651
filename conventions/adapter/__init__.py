"""Teaching the generator the repository's conventions: sample mining, LoRA training, versioned adapters.

`run.train_adapter` is the whole `train-adapter` command. This package does not import the server: the caller
passes in the engine's model and prompt rendering as a `rendering.CompletionRuntime`.
"""
