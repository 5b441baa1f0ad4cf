"""The handler runtime every function shares: Powertools' Logger, Metrics and Tracer made one way for a service,
and one decorator that applies them to a handler in one order.

    fn = FunctionRuntime.for_service("image_processor")

    @fn.handler()
    def handler(event, context): ...

The order, outermost first, is fixed here so that no function can drift from it:

1. the library's loggers (`imgpipe.*`) write through this function's logger: on Lambda a process hosts one
   function, but the local runtime hosts several in one process, and a library line belongs to the function
   that is running, not to the one imported last;
2. `logger.inject_lambda_context(clear_state=True)`: the previous invocation's keys (an image id, a key id) are
   dropped and this one's context is set before anything else runs, so every line of the invocation, the
   tracer's and the metrics flush's included, carries this invocation's keys and no other's;
3. `tracer.capture_lambda_handler`: the segment spans the handler and the metrics flush;
4. `metrics.log_metrics`: innermost, so the metrics are flushed when the handler returns or raises.

Event parsing (Powertools' `event_source`) stays with the handler, below all four.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

NAMESPACE = "imgpipe"
LIBRARY_LOGGER = "imgpipe"
# What the functions reach through a patched client: AWS, through botocore. Tracer's default, patch_all, also
# imports at cold start every other library X-Ray knows that happens to be installed (httpx, requests, ...),
# only to patch clients that no function uses.
TRACED_MODULES = ("botocore",)

Handler = TypeVar("Handler", bound=Callable[..., Any])

# A batch that has nothing to count (S3 test events, reads, skipped records) is normal, not worth a warning in
# every invocation's log.
warnings.filterwarnings("ignore", message="No application metrics to publish")


@dataclass(frozen=True)
class FunctionRuntime:
    """A function's Powertools utilities. publish_metrics: False for a function that publishes none (the
    authorizer, whose refusals are API Gateway's own 401/403 counts): its handler flushes no EMF document."""

    service: str
    logger: Logger
    tracer: Tracer
    metrics: Metrics
    publish_metrics: bool = True

    @classmethod
    def for_service(cls, service: str, *, metrics: bool = True) -> FunctionRuntime:
        # name: which logger wrote a line (this function's, or imgpipe.processing's, ...). A constructor key, so
        # that clear_state keeps it; a key appended later would be gone from the first invocation on.
        logger = Logger(service=service, name="%(name)s")
        # Registered now, so that library modules imported later (lazily) inherit what is copied to it.
        logging.getLogger(LIBRARY_LOGGER)
        runtime = cls(
            service=service,
            logger=logger,
            tracer=Tracer(service=service, patch_modules=TRACED_MODULES),
            metrics=Metrics(namespace=NAMESPACE, service=service),
            publish_metrics=metrics,
        )
        runtime.route_library_logs()
        return runtime

    def route_library_logs(self) -> None:
        """The library's lines as this function's structured lines, with its keys and level."""
        copy_config_to_registered_loggers(source_logger=self.logger, include={LIBRARY_LOGGER})

    def handler(self, *, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
        """Wraps a Lambda handler in the order of the module's docstring. correlation_id_path: where the
        event carries the correlation id (Powertools' correlation_paths), for a function whose events have one."""

        def decorate(handler: Handler) -> Handler:
            wrapped: Callable[..., Any] = handler
            if self.publish_metrics:
                wrapped = self.metrics.log_metrics(wrapped)
            wrapped = self.tracer.capture_lambda_handler(wrapped)
            wrapped = self.logger.inject_lambda_context(
                wrapped, correlation_id_path=correlation_id_path, clear_state=True
            )

            @functools.wraps(handler)
            def run(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
                self.route_library_logs()
                return wrapped(event, context, *args, **kwargs)

            return run  # type: ignore[return-value]  # same signature as handler

        return decorate
