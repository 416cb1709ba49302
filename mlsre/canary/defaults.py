"""The config ``mlsre canary judge`` uses without ``--config`` (``mlsre canary default`` prints it).

Same metric and label names as the bundled runbooks (docs/metrics.md), each an input, so a team
with other names overrides them with ``--input`` instead of writing a config.
"""

from __future__ import annotations

DEFAULT_CONFIG = """\
apiVersion: mlsre/v1
kind: CanaryConfig
description: >-
  Latency, errors and prediction scores of the canary version against the baseline version,
  both serving at the same time.
inputs:
  requests_metric: {description: Counter of requests with a status code label, default: model_requests_total}
  latency_metric: {description: Histogram of request latency in seconds (without _bucket), default: model_request_duration_seconds}
  score_metric: {description: Histogram of prediction scores (without _bucket), default: model_prediction_score}
  model_label: {description: Label carrying the model name, default: model}
  version_label: {description: Label carrying the model version, default: version}
  code_label: {description: Label carrying the response status code, default: code}
  error_codes: {description: Regex of status codes that count as errors, default: "5.."}
  rate_window: {description: Window of rate() in the queries, default: 5m}
metrics:
  - name: p99-latency
    description: 99th percentile of request latency
    query: >-
      histogram_quantile(0.99, sum by (le) (rate({{ inputs.latency_metric }}_bucket{
      {{ inputs.model_label }}="{{ model | promql_escape }}",
      {{ inputs.version_label }}="{{ version | promql_escape }}" }[{{ inputs.rate_window }}])))
    direction: increase
    tolerance: 0.10
    critical: true
    weight: 2
  - name: error-ratio
    description: Share of requests answered with an error code
    query: >-
      (sum(rate({{ inputs.requests_metric }}{
      {{ inputs.model_label }}="{{ model | promql_escape }}",
      {{ inputs.version_label }}="{{ version | promql_escape }}",
      {{ inputs.code_label }}=~"{{ inputs.error_codes | promql_escape }}" }[{{ inputs.rate_window }}]))
      or vector(0))
      / sum(rate({{ inputs.requests_metric }}{
      {{ inputs.model_label }}="{{ model | promql_escape }}",
      {{ inputs.version_label }}="{{ version | promql_escape }}" }[{{ inputs.rate_window }}]))
    direction: increase
    tolerance: 0.10
    critical: true
    weight: 2
  - name: prediction-scores
    description: Distribution of prediction scores (PSI of the histogram buckets)
    type: distribution
    query: >-
      sum by (le) (increase({{ inputs.score_metric }}_bucket{
      {{ inputs.model_label }}="{{ model | promql_escape }}",
      {{ inputs.version_label }}="{{ version | promql_escape }}" }[{{ window }}]))
    method: psi
    threshold: 0.1
    critical: true
    weight: 1
scoring: {pass: 95, marginal: 75}
"""
