"""The embedded emulator's launcher (scripts/local/emulator.py): moto's blanket CORS off, and the form-POST
handler answering with the bucket's CORS headers. Its behaviour over HTTP is tested against the deployed stack
(tests/integration/test_local_deploy.py) and in the browser (tests/integration/test_web_app.py)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_launcher_patches_the_form_handler_once_and_turns_the_blanket_cors_off() -> None:
    # In a process of its own: the patch and the setting are the process's.
    script = """
import json, os
from scripts.local import emulator
emulator.answer_form_posts_with_cors()
first = __import__("moto.s3.responses", fromlist=["S3Response"]).S3Response._bucket_response_post
emulator.answer_form_posts_with_cors()
from moto.s3.responses import S3Response
print(json.dumps({"patched": getattr(S3Response._bucket_response_post, "imgpipe_cors", False),
                  "once": S3Response._bucket_response_post is first}))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {"patched": True, "once": True}
