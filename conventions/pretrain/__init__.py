"""Pre-training the shipped default code model: corpus, tokenizer, FIM samples, training, evaluation, model card.

The sanity evaluation and the model card load and run the exported model through the server's runtime, which the
caller passes in (`conventions.runtime.ModelRuntime`); the entry points that do so are
`python -m copilot_index.server.model.pretrain`, `... .model_card` and `... .evaluate`.
"""
