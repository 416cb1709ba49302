"""Canary analysis: compare a canary model version with the baseline version while both serve.

``config`` (the CanaryConfig format), ``stats`` (Mann-Whitney U, Hodges-Lehmann), ``classify``
(one metric, after Kayenta's NetflixACAJudge), ``judge`` (queries, score, verdict), ``report``
(markdown), ``promote`` (promotion gated on a judgement). See docs/canary.md.
"""
