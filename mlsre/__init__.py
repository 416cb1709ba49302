"""mlsre: incident and runbook toolkit bringing SRE practice to machine-learning systems."""

__version__ = "0.1.0"
