import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffMs, isRetryable, withRetries } from "../src/retry.js";

const httpError = (status, retryAfterS) => Object.assign(new Error(`HTTP ${status}`), { status, retryAfterS });

test("only what may succeed later is retried", () => {
  for (const status of [408, 429, 500, 502, 503, 504]) assert.equal(isRetryable(httpError(status)), true, status);
  for (const status of [400, 401, 403, 404, 409, 413, 415, 422]) assert.equal(isRetryable(httpError(status)), false, status);
  assert.equal(isRetryable(new TypeError("Failed to fetch")), true); // no answer at all
  assert.equal(isRetryable(new DOMException("cancelled", "AbortError")), false);
});

test("backoff doubles up to its cap, with full jitter, and honours Retry-After", () => {
  const top = (attempt) => backoffMs(attempt, { baseMs: 100, capMs: 1000, random: () => 0.999999 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(top), [99, 199, 399, 799, 999, 999]);
  assert.equal(backoffMs(3, { random: () => 0 }), 0);
  assert.equal(backoffMs(1, { retryAfterS: 7 }), 7000);
  assert.equal(backoffMs(1, { retryAfterS: 3600, capMs: 20_000 }), 20_000);
  assert.throws(() => backoffMs(0), RangeError);
});

test("a task that fails twice with 503 then succeeds is tried three times", async () => {
  const waits = [];
  let calls = 0;
  const result = await withRetries(
    async () => {
      calls += 1;
      if (calls < 3) throw httpError(503);
      return "stored";
    },
    { sleep: async (ms) => waits.push(ms), random: () => 0.5, baseMs: 100 },
  );
  assert.equal(result, "stored");
  assert.equal(calls, 3);
  assert.deepEqual(waits, [50, 100]);
});

test("a refusal is not retried and a failure that lasts gives up after the attempts", async () => {
  let calls = 0;
  await assert.rejects(
    withRetries(async () => {
      calls += 1;
      throw httpError(422);
    }, { sleep: async () => {} }),
    { status: 422 },
  );
  assert.equal(calls, 1);

  calls = 0;
  const retried = [];
  await assert.rejects(
    withRetries(async () => {
      calls += 1;
      throw httpError(500);
    }, { attempts: 4, sleep: async () => {}, onRetry: (error, waitMs) => retried.push([error.status, waitMs >= 0]) }),
    { status: 500 },
  );
  assert.equal(calls, 4);
  assert.deepEqual(retried, [[500, true], [500, true], [500, true]]);
});

test("a cancelled upload stops waiting at once", async () => {
  const controller = new AbortController();
  const started = Date.now();
  const pending = withRetries(
    async () => {
      throw httpError(503, 30);
    },
    { signal: controller.signal },
  );
  setTimeout(() => controller.abort(), 20);
  await assert.rejects(pending, { name: "AbortError" });
  assert.ok(Date.now() - started < 5000);
});
