// The imgpipe API as the page uses it (docs/api/openapi.yaml): bearer token, JSON, errors as ApiError with
// the API's own code, status and Retry-After, so that retry.js can decide and the page can say why.

export class ApiError extends Error {
  constructor(status, code, message, retryAfterS) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }
}

export class Api {
  // baseUrl: the API's URL without a trailing slash ("" for the page's own origin); token(): the access token.
  constructor(baseUrl, token, fetchImpl = (...args) => fetch(...args)) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.token = token;
    this.fetchImpl = fetchImpl;
  }

  async request(method, path, { body, headers = {}, signal } = {}) {
    let response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        signal,
        headers: {
          Authorization: `Bearer ${this.token()}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (error?.name === "AbortError") throw error;
      throw new ApiError(undefined, "unreachable", "the API did not answer (offline?)");
    }
    if (response.status === 204) return null;
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      const retryAfter = Number.parseInt(response.headers.get("Retry-After") || "", 10);
      const error = answer?.error || {};
      throw new ApiError(
        response.status,
        error.code || `http_${response.status}`,
        error.message || `the API answered ${response.status}`,
        Number.isFinite(retryAfter) ? retryAfter : undefined,
      );
    }
    return answer;
  }

  // A PENDING_UPLOAD item and its presigned POST; the same key on a retry stands for the same image.
  requestUpload({ filename, contentType, sizeBytes }, idempotencyKey, signal) {
    return this.request("POST", "/v1/uploads", {
      body: { filename, content_type: contentType, size_bytes: sizeBytes },
      headers: { "Idempotency-Key": idempotencyKey },
      signal,
    });
  }

  listImages(status, { limit = 24, next } = {}) {
    const query = new URLSearchParams({ status, limit: String(limit) });
    if (next) query.set("next", next);
    return this.request("GET", `/v1/images?${query}`);
  }

  getImage(imageId) {
    return this.request("GET", `/v1/images/${encodeURIComponent(imageId)}`);
  }

  deleteImage(imageId) {
    return this.request("DELETE", `/v1/images/${encodeURIComponent(imageId)}`);
  }
}
