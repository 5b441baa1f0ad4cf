// Retrying a request the way the API asks for it: only what may succeed later (the network, 408, 429, 5xx),
// with exponential backoff and full jitter so that many browsers do not retry in step, and Retry-After honoured.

export const RETRYABLE_STATUSES = Object.freeze([408, 429, 500, 502, 503, 504]);

export function isRetryable(error) {
  if (error && error.name === "AbortError") return false; // the person cancelled
  if (error && typeof error.status === "number") return RETRYABLE_STATUSES.includes(error.status);
  return true; // no status: the request never got an answer (offline, reset, DNS)
}

// Milliseconds to wait before attempt n (1 = the first retry): uniform in [0, min(cap, base * 2^(n-1))], or
// Retry-After when the server named a wait (capped too).
export function backoffMs(attempt, { baseMs = 500, capMs = 20_000, random = Math.random, retryAfterS } = {}) {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError("attempt counts retries from 1");
  if (Number.isFinite(retryAfterS) && retryAfterS >= 0) return Math.min(capMs, retryAfterS * 1000);
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
}

const pause = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("cancelled", "AbortError"));
    });
  });

// Runs task(attempt) until it resolves, a non-retryable error, or `attempts` tries in all; onRetry(error, waitMs)
// lets the page say what is happening. The last error is thrown as it was.
export async function withRetries(task, { attempts = 4, sleep = pause, signal, onRetry = () => {}, ...backoff } = {}) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await task(attempt);
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error) || signal?.aborted) throw error;
      const waitMs = backoffMs(attempt, { ...backoff, retryAfterS: error?.retryAfterS });
      onRetry(error, waitMs);
      await sleep(waitMs, signal);
    }
  }
}
