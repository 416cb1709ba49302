"""Production-readiness scorecards per model (``mlsre readiness``)."""
