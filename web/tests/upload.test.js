import assert from "node:assert/strict";
import { test } from "node:test";

import { UploadError, postForm } from "../src/upload.js";

// A stand-in for XMLHttpRequest that plays one scripted outcome.
function fakeXhr(outcome) {
  return class {
    constructor() {
      this.listeners = {};
      this.upload = { addEventListener: (name, fn) => { this.listeners[`upload.${name}`] = fn; } };
      fakeXhr.last = this;
    }
    addEventListener(name, fn) { this.listeners[name] = fn; }
    open(method, url) { this.method = method; this.url = url; }
    abort() { this.aborted = true; queueMicrotask(() => this.listeners.abort?.()); }
    send(body) {
      this.body = body;
      queueMicrotask(() => {
        if (this.aborted) return;
        this.listeners["upload.progress"]?.({ lengthComputable: true, loaded: 5, total: 10 });
        if (outcome === "network") return this.listeners.error();
        if (outcome === "hang") return undefined;
        this.status = outcome;
        return this.listeners.load();
      });
    }
  };
}

const FORM = { url: "https://raw.s3.eu-west-1.amazonaws.com/", fields: { key: "raw/t/x", policy: "P", "x-amz-signature": "S" } };
const file = new Blob([new Uint8Array(10)], { type: "image/png" });

test("the form's fields go first and the file last, to the form's URL, with progress reported", async () => {
  const seen = [];
  const status = await postForm(FORM, file, { Xhr: fakeXhr(204), onProgress: (sent, total) => seen.push([sent, total]) });
  assert.equal(status, 204);
  const xhr = fakeXhr.last;
  assert.deepEqual([xhr.method, xhr.url], ["POST", FORM.url]);
  assert.deepEqual([...xhr.body.keys()], ["key", "policy", "x-amz-signature", "file"]);
  assert.deepEqual(seen, [[5, 10], [10, 10]]);
});

test("a refusal carries S3's status; no answer carries none (retryable); a cancel is an AbortError", async () => {
  await assert.rejects(postForm(FORM, file, { Xhr: fakeXhr(403) }), (e) => e instanceof UploadError && e.status === 403);
  await assert.rejects(postForm(FORM, file, { Xhr: fakeXhr("network") }), (e) => e instanceof UploadError && e.status === undefined);
  const controller = new AbortController();
  const sending = postForm(FORM, file, { Xhr: fakeXhr("hang"), signal: controller.signal });
  controller.abort();
  await assert.rejects(sending, { name: "AbortError" });
  assert.equal(fakeXhr.last.aborted, true);
  const already = new AbortController();
  already.abort();
  await assert.rejects(postForm(FORM, file, { Xhr: fakeXhr(204), signal: already.signal }), { name: "AbortError" });
});
