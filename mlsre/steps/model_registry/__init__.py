"""The model-registry (MLflow) step-kind family: ``kinds.py`` declares the kinds, ``run.py`` does
their work; ``moves.py`` (rollback, promote) and ``fallback.py`` move aliases safely and are
shared with ``mlsre model ...``."""
