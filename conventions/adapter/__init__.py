"""Teaching the generator the repository's conventions: sample mining, LoRA training, versioned adapters.

This package does not import the server: the caller passes in the loaded model, its
tokenizer and a function that renders a sample into the exact prompt used at inference.
"""
