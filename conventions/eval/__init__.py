"""`copilot-index eval`: which of retrieval and the adapter helps this repository, measured on its held-out files,
and the HTML report of it."""
