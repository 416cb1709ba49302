"""Chaos engineering for ML data: corruption, the detection matrix, game days."""
