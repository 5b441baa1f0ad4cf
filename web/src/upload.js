// Sending a file's bytes straight to S3 with the presigned POST the API handed out: XMLHttpRequest, because
// fetch() still reports no upload progress. Resolves when S3 has the object; rejects with an error carrying
// the status (retry.js decides) or an AbortError when the person cancelled.

export class UploadError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "UploadError";
    this.status = status; // undefined: no answer at all (offline, or refused by the browser's CORS check)
  }
}

// form: {url, fields} from POST /v1/uploads; onProgress(sentBytes, totalBytes).
export function postForm(form, file, { onProgress = () => {}, signal, Xhr = XMLHttpRequest } = {}) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DOMException("cancelled", "AbortError"));
      return;
    }
    const body = new FormData();
    for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
    body.append("file", file); // last: S3 ignores every field after the file
    const xhr = new Xhr();
    const abort = () => xhr.abort();
    xhr.open("POST", form.url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      signal?.removeEventListener("abort", abort);
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve(xhr.status);
      } else {
        reject(new UploadError(xhr.status, `the storage refused the upload (${xhr.status})`));
      }
    });
    xhr.addEventListener("error", () => {
      signal?.removeEventListener("abort", abort);
      reject(new UploadError(undefined, "the upload did not reach the storage (offline, or this site may not send there)"));
    });
    xhr.addEventListener("abort", () => reject(new DOMException("cancelled", "AbortError")));
    signal?.addEventListener("abort", abort, { once: true });
    xhr.send(body);
  });
}
