"""Runbook preflight: every read-only step of a runbook checked against the live systems."""
