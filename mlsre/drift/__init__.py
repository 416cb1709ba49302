"""Drift statistics and data-quality checks (numpy), and the data loading they share."""
