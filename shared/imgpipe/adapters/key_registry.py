"""Loads the API-key registry from Secrets Manager through Powertools Parameters (cached between calls)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from imgpipe.auth import KeyRecord, parse_registry

DEFAULT_CACHE_SECONDS = 60  # a revoked key stops working within a minute without a call per request


class KeyRegistry:
    def __init__(self, secret_id: str, client: Any | None = None, max_age: int = DEFAULT_CACHE_SECONDS) -> None:
        self._secret_id = secret_id
        self._provider = SecretsProvider(boto3_client=client)
        self._max_age = max_age

    def records(self, force: bool = False) -> dict[str, KeyRecord]:
        document = self._provider.get(self._secret_id, max_age=self._max_age, transform="json", force_fetch=force)
        if not isinstance(document, dict):
            raise ValueError(f"secret {self._secret_id} does not hold a JSON object")
        return parse_registry(document)
