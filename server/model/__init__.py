"""The model runtime: the shipped default model, its loaders, generation, templates and GGUF import.

`pretrain`, `model_card` and `evaluate` are entry points only: they hand this runtime to the pre-training and
evaluation code in `conventions.pretrain`.
"""
