"""Run a function once per request key, the way the ingest paths (upload_api's Idempotency-Key, kafka_ingest's
dedup key) do: Powertools idempotency on the function's DynamoDB table, keys and payloads hashed with SHA-256,
and each call telling whether it ran or replayed the first call's saved answer.

Powertools is imported on first use: a function builds its idempotent call when a request first needs one, and
a cold start that serves none (a read, a key-less upload) does not pay for the import. For the same reason its
two refusals are raised as this module's own exceptions, which a caller can name without importing Powertools.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from imgpipe import config

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

T = TypeVar("T")
TABLE_VARIABLE = "IDEMPOTENCY_TABLE"


def settings(
    event_key_jmespath: str, expires_after_seconds: int, payload_validation_jmespath: str = ""
) -> IdempotencyConfig:
    """Powertools' configuration as every idempotent call here uses it: SHA-256, no local cache."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath=event_key_jmespath,
        payload_validation_jmespath=payload_validation_jmespath,
        hash_function="sha256",
        expires_after_seconds=expires_after_seconds,
    )


def seconds(default: int, most: int) -> int:
    """How long a request key is remembered (IDEMPOTENCY_SECONDS, at least a minute)."""
    return config.integer("IDEMPOTENCY_SECONDS", default, 60, most)


class InProgress(Exception):
    """A call with this key is still running (or died without finishing and has not expired yet)."""


class KeyReused(Exception):
    """This key was already used with another payload."""


@dataclass(frozen=True)
class Run(Generic[T]):
    value: T
    replayed: bool  # True: the first call's saved answer, nothing was run again


class Once(Generic[T]):
    """function, run at most once per key (the jmespath of `settings` over the argument named
    data_keyword_argument) on the table named by IDEMPOTENCY_TABLE. A call with the key of a finished call
    returns its saved answer (replayed); with the key of a running one raises InProgress; with the key of another
    payload raises KeyReused."""

    def __init__(
        self,
        function: Callable[..., T],
        idempotency: IdempotencyConfig,
        data_keyword_argument: str,
        table_name: str | None = None,
    ) -> None:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

        self.config = idempotency
        self.config.response_hook = self._replayed
        self._replay = False
        persistence = DynamoDBPersistenceLayer(table_name=table_name or config.required(TABLE_VARIABLE))
        decorate = idempotent_function(
            data_keyword_argument=data_keyword_argument, config=idempotency, persistence_store=persistence
        )
        self._call: Callable[..., T] = decorate(function)

    def _replayed(self, response: Any, idempotent_data: DataRecord) -> Any:
        self._replay = True
        return response

    def __call__(self, lambda_context: LambdaContext | None, /, **kwargs: Any) -> Run[T]:
        """lambda_context: the invocation's, so that a call's in-progress record expires with it (a retry after
        a timeout then runs again instead of waiting out the whole expiry); None outside Lambda."""
        if lambda_context is not None:
            self.config.register_lambda_context(lambda_context)
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        self._replay = False
        try:
            value = self._call(**kwargs)
        except IdempotencyAlreadyInProgressError as err:
            raise InProgress(str(err)) from err
        except IdempotencyValidationError as err:
            raise KeyReused(str(err)) from err
        return Run(value, self._replay)
