"""copilot-index conventions package."""
