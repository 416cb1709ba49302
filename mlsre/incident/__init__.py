"""Incidents: an append-only event log per incident, folded into its current state."""
