"""Default generator model, its loader and the script that pre-trains it."""
