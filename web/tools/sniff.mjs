// For the differential test (tests/unit/test_web_client.py): reads a JSON array of base64 byte strings on stdin
// and writes, as a JSON array, what the browser's check makes of each (a format, or null), plus the limits it
// enforces, so that the Python side can compare both with the server's.
import { FORMATS, MAX_UPLOAD_BYTES, SNIFF_BYTES, sniffFormat } from "../src/checks.js";

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const formats = JSON.parse(input).map((b64) => sniffFormat(Uint8Array.from(Buffer.from(b64, "base64"))));
process.stdout.write(JSON.stringify({ formats, limits: { FORMATS, MAX_UPLOAD_BYTES, SNIFF_BYTES } }));
