"""copilot-index indexer package."""
