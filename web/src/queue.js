// Several uploads at once, never more than `limit` in flight: a person may drop a hundred files, and a browser
// (and the API's rate limit) is better served by a few steady requests than a hundred at once.

// Runs every task (a function returning a promise) with at most `limit` running; resolves, in the tasks' order,
// to what Promise.allSettled would: one task's failure neither stops nor hides the others.
export async function runBounded(tasks, limit) {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError("limit must be a whole number >= 1");
  const results = new Array(tasks.length);
  let next = 0;
  async function lane() {
    while (next < tasks.length) {
      const index = next;
      next += 1;
      try {
        results[index] = { status: "fulfilled", value: await tasks[index]() };
      } catch (reason) {
        results[index] = { status: "rejected", reason };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  return results;
}
