import assert from "node:assert/strict";
import { test } from "node:test";

import { runBounded } from "../src/queue.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

test("never more than the limit in flight, every task run once, results in order", async () => {
  let running = 0;
  let most = 0;
  const started = [];
  const tasks = Array.from({ length: 25 }, (_, i) => async () => {
    started.push(i);
    running += 1;
    most = Math.max(most, running);
    await tick();
    running -= 1;
    return i * 2;
  });
  const results = await runBounded(tasks, 3);
  assert.equal(most, 3);
  assert.deepEqual([...started].sort((a, b) => a - b), Array.from({ length: 25 }, (_, i) => i));
  assert.deepEqual(results.map((r) => r.value), Array.from({ length: 25 }, (_, i) => i * 2));
});

test("one failure neither stops nor hides the others", async () => {
  const tasks = [async () => "a", async () => { throw new Error("refused"); }, async () => "c"];
  const results = await runBounded(tasks, 2);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.equal(results[1].reason.message, "refused");
});

test("no task and a limit above the number of tasks are fine; a bad limit is refused", async () => {
  assert.deepEqual(await runBounded([], 4), []);
  assert.deepEqual((await runBounded([async () => 1], 8)).map((r) => r.value), [1]);
  await assert.rejects(runBounded([], 0), RangeError);
  await assert.rejects(runBounded([], 1.5), RangeError);
});
