"""Operating a deployment: API keys, web users, the smoke test, the Kafka claim-check producer, and the
authorization checks over the deployed policy documents (authz, iam_audit)."""
