"""Telling people: escalation policies, the outbox (rows written with the event that causes
them) and its delivery worker, and one module per channel (PagerDuty, Slack, signed webhooks)."""
