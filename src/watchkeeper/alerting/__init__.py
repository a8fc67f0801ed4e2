"""Alerting: findings become alerts and incidents; escalation walks the runbook's path; notifiers
deliver. Decisions (escalation, muting) are pure; delivery is the only I/O."""
