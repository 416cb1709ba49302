"""The slo step-kind family: ``kinds.py`` declares the kinds, ``run.py`` does their work."""
