import assert from "node:assert/strict";
import { test } from "node:test";

import { REASONS, expiresIn, formatBytes, isFinal, metadataRows, pollDelayMs, reasonText } from "../src/present.js";

const NOW = Date.UTC(2026, 11, 3, 9, 0, 0);
const at = (seconds) => NOW / 1000 + seconds;

test("the retention is shown as the time left", () => {
  assert.equal(expiresIn(at(7 * 86_400 - 1), NOW), "expires in 6 days 23 hours");
  assert.equal(expiresIn(at(86_400 + 3_600), NOW), "expires in 1 day 1 hour");
  assert.equal(expiresIn(at(2 * 3_600 + 120), NOW), "expires in 2 hours 2 minutes");
  assert.equal(expiresIn(at(30), NOW), "expires in 1 minute");
  assert.equal(expiresIn(at(0), NOW), "expired, being deleted");
  assert.equal(expiresIn(undefined, NOW), "expiry unknown");
});

test("every reason has plain words, and the server's detail is kept beside them", () => {
  for (const [code, words] of Object.entries(REASONS)) {
    assert.match(words, /^[A-Z].+\.$/, code);
    assert.doesNotMatch(words, /_/, code); // no code names in what a person reads
  }
  assert.equal(reasonText("polyglot", "markup at byte 40"), `${REASONS.polyglot} (markup at byte 40)`);
  assert.equal(reasonText("something_new"), "The image could not be processed.");
});

test("the metadata rows are what the image has, worded", () => {
  const rows = Object.fromEntries(metadataRows({
    filename: "cat.jpg", status: "PROCESSED", width: 640, height: 480, format: "jpeg", size_bytes: 2_500_000,
    phash: "f0e1d2c3b4a59687", dominant_color: "#aa3300", camera: { make: "Canon", model: "EOS 5D" },
    processing_ms: { decode: 12, renditions: 30 }, created_at: "2026-12-03T09:00:00Z",
  }));
  assert.equal(rows.Dimensions, "640 × 480 px");
  assert.equal(rows.Format, "JPEG");
  assert.equal(rows.Size, "2.4 MiB");
  assert.equal(rows.Camera, "Canon EOS 5D");
  assert.equal(rows.Processing, "42 ms (decode 12 ms, renditions 30 ms)");
  assert.equal(rows["Why refused"], undefined);
  const refused = Object.fromEntries(metadataRows({ status: "REJECTED", reject_reason: "truncated" }));
  assert.equal(refused["Why refused"], REASONS.truncated);
  assert.equal(refused.Status, "Refused");
});

test("sizes, final states and the polling backoff", () => {
  assert.deepEqual([formatBytes(10), formatBytes(2048), formatBytes(5 * 1024 * 1024)], ["10 B", "2.0 KiB", "5.0 MiB"]);
  assert.deepEqual(["PROCESSED", "REJECTED", "RECEIVED", "PROCESSING"].map(isFinal), [true, true, false, false]);
  assert.deepEqual([0, 1, 2, 10].map(pollDelayMs), [1000, 1500, 2250, 10000]);
});
