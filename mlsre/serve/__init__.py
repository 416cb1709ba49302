"""``mlsre serve``: Alertmanager webhooks in, incidents out; diagnoses in background workers.

Only ``mlsre serve`` imports this package's server modules (starlette, uvicorn, prometheus_client);
:mod:`mlsre.serve.config` is plain pydantic so ``mlsre.yaml`` validation can use it.
"""
