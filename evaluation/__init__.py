"""Evaluation commands: measured quality of tagging and clustering on labeled sets."""
