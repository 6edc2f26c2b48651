"""Pre-training the shipped default code model: corpus, tokenizer, FIM samples, training, evaluation, model card.

The sanity evaluation and the model card load and run the exported model through the server's runtime, which the
caller passes in (`conventions.runtime.ModelRuntime`); the entry points that do so are
`python -m copilot_index.server.model.pretrain`, `... .model_card` and `... .evaluate`.

`code_lora` trains the code LoRA that the default model (SmolLM2) carries, on prompts that
`server.completion.code_lora_corpus` renders in the engine's layout; it imports only torch, transformers and peft,
so it runs as a plain script on a lent GPU.
"""
