"""copilot-index server package."""
