"""Step kinds: one module per kind family, found through :mod:`mlsre.steps.registry`."""
