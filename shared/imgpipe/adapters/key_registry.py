"""Loads the API-key registry from Secrets Manager through Powertools Parameters (cached between calls)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from imgpipe.auth import KeyRecord, parse_registry

DEFAULT_CACHE_SECONDS = 60  # a revoked key stops working within a minute without a call per request
MIN_REFRESH_SECONDS = 5  # unknown key ids may trigger a refetch at most this often (no amplification by guessing)


class KeyRegistry:
    def __init__(
        self,
        secret_id: str,
        client: Any | None = None,
        max_age: int = DEFAULT_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._provider = SecretsProvider(boto3_client=client)
        self._max_age = max_age
        self._clock = clock
        self._last_forced = float("-inf")

    def records_for(self, key_id: str | None) -> dict[str, KeyRecord]:
        """The cached registry, refetched when it lacks `key_id`: a key issued a moment ago works at once."""
        records = self.records()
        if key_id and key_id not in records and self._clock() - self._last_forced >= MIN_REFRESH_SECONDS:
            self._last_forced = self._clock()
            records = self.records(force=True)
        return records

    def records(self, force: bool = False) -> dict[str, KeyRecord]:
        document = self._provider.get(self._secret_id, max_age=self._max_age, transform="json", force_fetch=force)
        if not isinstance(document, dict):
            raise ValueError(f"secret {self._secret_id} does not hold a JSON object")
        return parse_registry(document)
