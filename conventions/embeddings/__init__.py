"""Embedding training on the repository: pair mining, fine-tuning, evaluation, promotion and re-embedding.

`pairs` mines (query, code) pairs from the working tree and its history, `training` fine-tunes a
sentence-transformers embedder on them with in-batch negatives and scores MRR@10, `registry` keeps
trained embedders versioned with their lineage, `reembed` swaps the index over to a promoted embedder
atomically, and `run` ties these together for `copilot-index train-embeddings`.
"""
