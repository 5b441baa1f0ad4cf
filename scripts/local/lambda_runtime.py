"""One local execution environment: the process a deployed function runs in, as Lambda gives each one a sandbox.

    python -m scripts.local.lambda_runtime <folder> <module> <attribute> --events-fd N --replies-fd M

Started by FunctionHost (scripts/local/lambda_host.py), never by hand. It imports the handler once, in its own
process with the function's deployed environment (the cold start: module-level set-up reads that environment and
nothing of another function's), answers "ready" or the import's error, then runs one invocation at a time for as
long as the host keeps it: each answer is the handler's JSON result or its error as Lambda reports one (errorType,
errorMessage, stackTrace). The host closing the events pipe ends it. The handler's logs go to this process's
stdout and stderr, which are the host's.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from scripts.local.lambda_host import FUNCTIONS_DIR, LocalContext, load_handler


def error(error_type: str, message: str, trace: list[str] | None = None) -> dict[str, Any]:
    return {"error": {"errorType": error_type, "errorMessage": message, "stackTrace": trace or []}}


def answer(result: Any) -> bytes:
    """The result as Lambda returns it: JSON, or Runtime.MarshalError for what JSON cannot carry."""
    try:
        return json.dumps({"result": result}).encode()
    except (TypeError, ValueError) as err:
        return json.dumps(error("Runtime.MarshalError", f"Unable to marshal response: {err}")).encode()


def invoke(handler: Any, frame: dict[str, Any]) -> bytes:
    context = LocalContext(**frame["context"])
    try:
        return answer(handler(frame["event"], context))
    except Exception as err:  # the function's error, reported to the caller as Lambda reports it
        trace = traceback.format_exception(err)
        print("".join(trace), file=sys.stderr, end="", flush=True)
        return json.dumps(error(type(err).__name__, str(err), trace)).encode()


def serve(
    folder: str, module: str, attribute: str, functions_dir: Path, events: Connection, replies: Connection
) -> int:
    try:
        handler = getattr(load_handler(folder, module, functions_dir), attribute)
    except AttributeError as err:
        replies.send_bytes(json.dumps(error("Runtime.HandlerNotFound", str(err))).encode())
        return 1
    except Exception as err:  # an import that fails is the function's init error, not the runtime's
        trace = traceback.format_exception(err)
        print("".join(trace), file=sys.stderr, end="", flush=True)
        found = error("Runtime.ImportModuleError", f"{type(err).__name__}: {err}", trace)
        replies.send_bytes(json.dumps(found).encode())
        return 1
    replies.send_bytes(b'{"ready": true}')
    while True:
        try:
            frame = json.loads(events.recv_bytes())
        except EOFError:  # the host let this environment go
            return 0
        replies.send_bytes(invoke(handler, frame))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.local.lambda_runtime", description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("module")
    parser.add_argument("attribute")
    parser.add_argument("--functions-dir", type=Path, default=FUNCTIONS_DIR)
    parser.add_argument("--events-fd", type=int, required=True)
    parser.add_argument("--replies-fd", type=int, required=True)
    args = parser.parse_args(argv)
    # Ctrl-C in the terminal, and `make down`'s SIGTERM, reach the whole process group: the host decides when its
    # environments end (an invocation that is running finishes; the closed pipe then ends the process).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    events = Connection(args.events_fd, writable=False)
    replies = Connection(args.replies_fd, readable=False)
    return serve(args.folder, args.module, args.attribute, args.functions_dir, events, replies)


if __name__ == "__main__":
    sys.exit(main())
