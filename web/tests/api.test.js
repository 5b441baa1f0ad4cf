import assert from "node:assert/strict";
import { test } from "node:test";

import { Api, ApiError } from "../src/api.js";

function answering(status, body, headers = {}) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push({ url, init });
    return {
      status,
      ok: status >= 200 && status < 300,
      headers: { get: (name) => headers[name] ?? null },
      json: async () => (body === undefined ? Promise.reject(new SyntaxError("no body")) : body),
    };
  };
  return { calls, fetchImpl };
}

test("requests carry the bearer token, JSON and the Idempotency-Key, on the API's URL", async () => {
  const { calls, fetchImpl } = answering(201, { image_id: "i1" });
  const api = new Api("https://api.example.com/prod/", () => "TOKEN", fetchImpl);
  const answer = await api.requestUpload({ filename: "a.png", contentType: "image/png", sizeBytes: 5 }, "key-1");
  assert.deepEqual(answer, { image_id: "i1" });
  assert.equal(calls[0].url, "https://api.example.com/prod/v1/uploads");
  assert.equal(calls[0].init.method, "POST");
  assert.equal(calls[0].init.headers.Authorization, "Bearer TOKEN");
  assert.equal(calls[0].init.headers["Idempotency-Key"], "key-1");
  assert.deepEqual(JSON.parse(calls[0].init.body), { filename: "a.png", content_type: "image/png", size_bytes: 5 });
});

test("listing and reading encode what they are given", async () => {
  const { calls, fetchImpl } = answering(200, { items: [], next: null });
  const api = new Api("", () => "T", fetchImpl);
  await api.listImages("REJECTED", { limit: 5, next: "a+b/c=" });
  await api.getImage("../../v1/uploads");
  assert.equal(calls[0].url, "/v1/images?status=REJECTED&limit=5&next=a%2Bb%2Fc%3D");
  assert.equal(calls[1].url, "/v1/images/..%2F..%2Fv1%2Fuploads");
  assert.equal(calls[0].init.body, undefined);
  assert.equal(calls[0].init.headers["Content-Type"], undefined);
});

test("an error answer becomes an ApiError with the API's code, status and Retry-After", async () => {
  const { fetchImpl } = answering(429, { error: { code: "rate_limited", message: "slow down", request_id: "r" } }, { "Retry-After": "12" });
  const error = await new Api("", () => "T", fetchImpl).listImages("PROCESSED").catch((e) => e);
  assert.ok(error instanceof ApiError);
  assert.deepEqual([error.status, error.code, error.message, error.retryAfterS], [429, "rate_limited", "slow down", 12]);

  const html = answering(502, undefined);
  const bad = await new Api("", () => "T", html.fetchImpl).getImage("x").catch((e) => e);
  assert.deepEqual([bad.status, bad.code], [502, "http_502"]);
});

test("a delete's 204 has no body; no answer at all is 'unreachable' and retryable; a cancel stays a cancel", async () => {
  const { fetchImpl } = answering(204, undefined);
  assert.equal(await new Api("", () => "T", fetchImpl).deleteImage("x"), null);
  const offline = new Api("", () => "T", async () => { throw new TypeError("Failed to fetch"); });
  const error = await offline.getImage("x").catch((e) => e);
  assert.deepEqual([error.status, error.code], [undefined, "unreachable"]);
  const cancelled = new Api("", () => "T", async () => { throw new DOMException("cancelled", "AbortError"); });
  assert.equal((await cancelled.getImage("x").catch((e) => e)).name, "AbortError");
});
