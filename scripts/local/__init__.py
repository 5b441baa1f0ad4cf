"""The local AWS runtime: what the embedded emulator (moto) and broker (Tansu) do not do themselves.

Processes (stack), the Lambda host (lambda_host), API Gateway (gateway), event source mappings (worker and
event_sources/), scheduled functions and lifecycle rules at a chosen time (time_travel), event shapes (events).
It imports nothing above it: what Terraform deployed reaches it as the outputs file the deploy writes.
"""
