"""Benchmarks: speed and memory figures printed as JSON, run by make targets (never by tests)."""
