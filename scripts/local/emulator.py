"""The embedded AWS emulator: moto's server, with what it does not do the way AWS does and a browser needs.

    python -m scripts.local.emulator -H 127.0.0.1 -p 5000      (started by scripts.local.stack)

Two differences matter to the web app, whose S3 uploads go from the page's origin to the emulator's:
- moto wraps every service in a CORS layer that allows any origin (flask-cors), so a page of any site could
  use the buckets; S3 answers CORS from each bucket's own rules, and only those. The blanket layer is off
  (MOTO_DISABLE_GLOBAL_CORS), so a bucket without rules refuses every cross-origin request, as on AWS.
- moto answers a presigned POST (the browser form upload) without the CORS headers of the bucket's rules, which
  S3 sends: the browser would hide a successful upload from the page. The one handler is wrapped to add them,
  with moto's own rule matching (the same it applies to GET and PUT).
And what moto drops of the container workers (modules/workers), which Terraform reads back after every apply
(without it the resource cannot be applied, or every later plan shows a change, and the second plan is not
a no-op):
- Application Auto Scaling's tags (ListTagsForResource, TagResource, UntagResource, and the Tags of
  RegisterScalableTarget), held per target ARN for the emulator's life, as moto holds its own state;
- an ECS service's capacity provider strategy and availability-zone rebalancing (CreateService,
  UpdateService), kept on moto's service;
- the description of a security group rule that names a prefix list or another group (moto keeps only a CIDR
  rule's).
And one difference every deploy meets: SQS SetQueueAttributes without a Policy empties the queue's policy in
moto (AWS changes only the attributes named), so a redrive policy written beside an access policy would drop
it; attributes other than Policy leave the policy as it was, and one queue's writes are taken one at a time, as
the patch reads and restores it.
And one cost that grows with a backlog where AWS's does not: moto reads a queue's deduplication mode on every
SendMessage through all of the queue's attributes, counting every message it holds (about 50 us each): a send
to a queue of 1,700 messages took 84 ms of the emulator's one process instead of 4, and every S3 notification
is such a send inside PutObject, so each upload grew slower while the worker fell behind. A send reads that
mode without the counts; GetQueueAttributes still counts. And one cost on every request: to route it, moto
lists its own package's directories (a listdir and some 200 isdir calls, about 11% of the emulator's busy
samples while the local worker processed a burst); the list is read once, at start.
And beneath every service: an AWS SDK that loses a reply in transit retries the request, with the same
invocation id (amz-sdk-invocation-id) and the attempt number (amz-sdk-request: attempt=N). A busy apply lost
such replies, and moto ran the retried writes again: "secret already exists", "the specified rule already
exists" on resources the same apply had just made. The server answers a retried write whose earlier attempt
succeeded with that attempt's reply, as an API whose writes are idempotent for the SDK's retries does, and logs
it ("replayed"). Reads are run again (they change nothing).
And what serves it all: waitress, with keep-alive connections and a pool of threads, instead of moto's own
server (`serve`).
Everything else is moto's server application unchanged.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any


def answer_form_posts_with_cors() -> None:
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post
    if getattr(original, "imgpipe_cors", False):
        return

    @functools.wraps(original)
    def with_cors(self: Any, request: Any, bucket_name: str) -> Any:
        status, headers, body = original(self, request, bucket_name)
        return status, {**self._get_cors_headers_other(), **headers}, body

    with_cors.imgpipe_cors = True  # type: ignore[attr-defined]
    S3Response._bucket_response_post = with_cors  # type: ignore[method-assign]


def hold_application_autoscaling_tags() -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse as Response

    if getattr(Response, "imgpipe_tags", False):
        return
    held: dict[str, dict[str, str]] = {}
    register = Response.register_scalable_target

    def register_with_tags(self: Any) -> str:
        answer = register(self)
        held.setdefault(json.loads(answer)["ScalableTargetARN"], {}).update(self._get_param("Tags") or {})
        return answer

    def list_tags_for_resource(self: Any) -> str:
        return json.dumps({"Tags": held.get(self._get_param("ResourceARN"), {})})

    def tag_resource(self: Any) -> str:
        held.setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
        return "{}"

    def untag_resource(self: Any) -> str:
        tags = held.get(self._get_param("ResourceARN"), {})
        for key in self._get_param("TagKeys") or []:
            tags.pop(key, None)
        return "{}"

    Response.register_scalable_target = register_with_tags  # type: ignore[method-assign]
    Response.list_tags_for_resource = list_tags_for_resource  # type: ignore[attr-defined]
    Response.tag_resource = tag_resource  # type: ignore[attr-defined]
    Response.untag_resource = untag_resource  # type: ignore[attr-defined]
    Response.imgpipe_tags = True  # type: ignore[attr-defined]


def keep_ecs_capacity_provider_strategies() -> None:
    from moto.ecs.responses import EC2ContainerServiceResponse as Response

    if getattr(Response, "imgpipe_strategies", False):
        return

    def keeping(original: Any, name_param: str) -> Any:
        @functools.wraps(original)
        def call(self: Any) -> Any:
            strategy = self._get_param("capacityProviderStrategy")
            rebalancing = self._get_param("availabilityZoneRebalancing")
            result = original(self)
            services, _ = self.ecs_backend.describe_services(
                self._get_param("cluster", "default"), [self._get_param(name_param)]
            )
            for service in services:
                if strategy:
                    service.capacity_provider_strategy = strategy
                    service.launch_type = None  # ECS answers no launch type for a service on capacity providers
                if rebalancing:
                    service.availability_zone_rebalancing = rebalancing
            return result

        return call

    Response.create_service = keeping(Response.create_service, "serviceName")  # type: ignore[method-assign]
    Response.update_service = keeping(Response.update_service, "service")  # type: ignore[method-assign]
    Response.imgpipe_strategies = True  # type: ignore[attr-defined]


def keep_security_group_rule_descriptions() -> None:
    from moto.ec2.models.security_groups import SecurityGroupRule as Rule

    if getattr(Rule, "imgpipe_descriptions", False):
        return
    init = Rule.__init__
    signature = inspect.signature(init)

    @functools.wraps(init)
    def init_keeping(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        prefix_list = signature.bind(self, *args, **kwargs).arguments.get("prefix_list_id")
        self.imgpipe_prefix_list_description = (prefix_list or {}).get("Description")

    def description(self: Any) -> str | None:
        return (
            self.ip_range.get("Description")
            or (self.source_group or {}).get("Description")
            or getattr(self, "imgpipe_prefix_list_description", None)
        )

    Rule.__init__ = init_keeping  # type: ignore[method-assign]
    Rule.description = property(description)  # type: ignore[assignment,method-assign]
    Rule.imgpipe_descriptions = True  # type: ignore[attr-defined]


def keep_queue_policies_across_other_attribute_writes() -> None:
    from moto.sqs.models import Queue

    if getattr(Queue, "imgpipe_policy_kept", False):
        return
    set_attributes = Queue._set_attributes
    writes = threading.Lock()

    @functools.wraps(set_attributes)
    def set_only_the_named(self: Any, attributes: dict[str, Any], now: float | None = None) -> None:
        with writes:
            kept = None if "Policy" in attributes else getattr(self, "_policy_json", None)
            set_attributes(self, attributes, now)
            if kept is not None:
                self._policy_json = kept

    Queue._set_attributes = set_only_the_named  # type: ignore[method-assign]
    Queue.imgpipe_policy_kept = True  # type: ignore[attr-defined]


def send_without_counting_the_queue() -> None:
    from moto.sqs.models import Queue, SQSBackend

    if getattr(SQSBackend, "imgpipe_sends_uncounted", False):
        return
    sending = threading.local()
    counted = Queue.attributes

    def attributes(self: Any) -> dict[str, Any]:
        if not getattr(sending, "active", False):
            return counted.fget(self)  # type: ignore[attr-defined,no-any-return]
        # All that a send reads of them (a FIFO queue's deduplication mode), without counting the messages.
        if not self.fifo_queue:
            return {}
        value = self.content_based_deduplication
        return {"ContentBasedDeduplication": str(value).lower() if isinstance(value, bool) else value}

    def uncounted(send: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(send)
        def call(*args: Any, **kwargs: Any) -> Any:
            outer = getattr(sending, "active", False)
            sending.active = True
            try:
                return send(*args, **kwargs)
            finally:
                sending.active = outer

        return call

    Queue.attributes = property(attributes)  # type: ignore[method-assign,assignment]
    SQSBackend.send_message = uncounted(SQSBackend.send_message)  # type: ignore[method-assign]
    SQSBackend.imgpipe_sends_uncounted = True  # type: ignore[attr-defined]


def list_moto_services_once() -> None:
    from moto import backends

    if getattr(backends.list_of_moto_modules, "imgpipe_listed_once", False):
        return
    # Names of the installed moto's service packages: they cannot change while the server runs.
    services = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> Iterable[str]:
        return iter(services)

    list_of_moto_modules.imgpipe_listed_once = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules


class ReplayRetriedWrites:
    """WSGI middleware: the reply of a write's successful attempt, kept by SDK invocation id, answers its retries."""

    WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
    KEPT = 4096  # invocations remembered: a retry follows its attempt within seconds
    MAX_BODY = 1 << 20  # a write's reply is small; a larger one is not kept

    def __init__(self, app: Callable[..., Iterable[bytes]], log: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.replies: OrderedDict[str, tuple[str, list[tuple[str, str]], bytes]] = OrderedDict()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
        if not invocation or environ.get("REQUEST_METHOD") not in self.WRITES:
            return self.app(environ, start_response)
        attempt = re.search(r"attempt=(\d+)", environ.get("HTTP_AMZ_SDK_REQUEST", ""))
        if attempt and int(attempt.group(1)) > 1:
            with self.lock:
                kept = self.replies.get(invocation)
            if kept is not None:
                status, headers, body = kept
                self.log(
                    f"replayed: attempt {attempt.group(1)} of {environ['REQUEST_METHOD']} "
                    f"{environ.get('PATH_INFO', '/')} (invocation {invocation}) answered as its first"
                )
                start_response(status, headers)
                return [body]
        answered: list[Any] = []

        def keep_status(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            answered[:] = [status, list(headers)]
            return start_response(status, headers, *exc_info)

        result = self.app(environ, keep_status)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if answered and answered[0].startswith("2") and len(body) <= self.MAX_BODY:
            with self.lock:
                self.replies[invocation] = (answered[0], answered[1], body)
                while len(self.replies) > self.KEPT:
                    self.replies.popitem(last=False)
        return [body]


# How waitress serves it. Each long poll (SQS ReceiveMessage waits up to 20 s) holds a thread for its wait, and
# every execution environment, poller and Terraform provider keeps its connections open between requests.
THREADS = 64
CONNECTIONS = 1_000
BUFFERED_IN_MEMORY = 16 << 20  # request and reply bodies (uploads of up to 10 MB) stay off the disk


def application() -> Callable[..., Iterable[bytes]]:
    """moto's server application, as its own `main()` builds it, behind the replay of retried writes."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return ReplayRetriedWrites(DomainDispatcherApplication(create_backend_app))


def serve(host: str, port: int) -> None:
    """moto's application served by waitress rather than by moto's own server, werkzeug's development server,
    which closes the connection after every reply (werkzeug 3: "This disables HTTP/1.1 keep-alive") and starts a
    thread per connection: every request paid a TCP connection and a thread, about 1 ms of CPU between client and
    emulator on a 3-5 ms request here. waitress keeps connections alive and serves them from a pool of threads.
    It drops request headers with an underscore in their name (ambiguous in WSGI): S3 user metadata with one
    would be lost, which moto's server keeps; imgpipe's metadata keys have none."""
    import waitress

    os.environ.setdefault("MOTO_PORT", str(port))  # as moto's main() sets it: some services' URLs carry it
    waitress.serve(
        application(),
        host=host,
        port=port,
        threads=THREADS,
        connection_limit=CONNECTIONS,
        asyncore_use_poll=True,  # select() stops at 1,024 descriptors
        inbuf_overflow=BUFFERED_IN_MEMORY,
        outbuf_overflow=BUFFERED_IN_MEMORY,
        ident="imgpipe-emulator",
    )


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m scripts.local.emulator", description="The embedded AWS emulator (moto), served on host:port."
    )
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("-p", "--port", type=int, default=5000, help="port to bind (default: 5000)")
    args = parser.parse_args(argv)
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"  # read by moto.settings when moto is first imported
    answer_form_posts_with_cors()
    hold_application_autoscaling_tags()
    keep_ecs_capacity_provider_strategies()
    keep_security_group_rule_descriptions()
    keep_queue_policies_across_other_attribute_writes()
    send_without_counting_the_queue()
    list_moto_services_once()
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
