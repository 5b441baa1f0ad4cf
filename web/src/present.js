// How the page words what the API records: pure functions of an image (docs/api/openapi.yaml's Image), so
// that they are tested without a browser.

// Why the pipeline refused an image, in plain words (the API's reason codes, docs/api.md).
export const REASONS = Object.freeze({
  empty: "The file is empty.",
  too_large: "The file is larger than 10 MiB.",
  unsupported_type: "This type of file is not accepted: only JPEG, PNG, WebP, GIF, AVIF and TIFF images are.",
  unknown_format: "The file is not an image in an accepted format, whatever its name says.",
  type_mismatch: "The file's content is of another format than it claimed to be.",
  truncated: "The image is cut short: part of the file is missing.",
  corrupt: "The image is damaged and cannot be read.",
  polyglot: "The file hides something other than an image (such as script or web page code), so it was refused for safety.",
  too_many_pixels: "The image has too many pixels to process.",
  dimension_too_large: "The image is too wide or too tall to process.",
  too_many_frames: "The animation has too many frames to process.",
  too_expensive: "The image would take too long to process.",
  bad_filename: "The file name cannot be used (nothing is left of it once made safe, or it is over 1,024 characters).",
  size_mismatch: "The bytes that arrived are not the size the upload announced.",
  checksum_mismatch: "The bytes that arrived do not match the checksum the upload announced.",
  malware: "The file was flagged by the malware scan.",
  not_scanned: "The malware scan could not check this file, and a scan is required.",
});

export function reasonText(code, message) {
  const plain = REASONS[code] || "The image could not be processed.";
  return message ? `${plain} (${message})` : plain;
}

export const STATUS_TEXT = Object.freeze({
  PENDING_UPLOAD: "Waiting for its bytes",
  RECEIVED: "Received, waiting to be processed",
  PROCESSING: "Processing",
  PROCESSED: "Ready",
  REJECTED: "Refused",
});

export const isFinal = (status) => status === "PROCESSED" || status === "REJECTED";

// "expires in 6 days 23 hours": the 7-day retention made visible. expiresAt in epoch seconds.
export function expiresIn(expiresAt, now = Date.now()) {
  const seconds = Math.floor(expiresAt - now / 1000);
  if (!Number.isFinite(seconds)) return "expiry unknown";
  if (seconds <= 0) return "expired, being deleted";
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  const unit = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (days > 0) return `expires in ${unit(days, "day")} ${unit(hours, "hour")}`;
  if (hours > 0) return `expires in ${unit(hours, "hour")} ${unit(minutes, "minute")}`;
  return `expires in ${unit(Math.max(minutes, 1), "minute")}`;
}

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

// The recorded metadata as [label, value] rows, only what the image has.
export function metadataRows(image) {
  const rows = [];
  const add = (label, value) => {
    if (value !== undefined && value !== null && value !== "") rows.push([label, String(value)]);
  };
  add("File name", image.filename);
  add("Status", STATUS_TEXT[image.status] || image.status);
  if (image.width && image.height) add("Dimensions", `${image.width} × ${image.height} px`);
  add("Format", image.format ? image.format.toUpperCase() : undefined);
  add("Size", image.size_bytes ? formatBytes(image.size_bytes) : undefined);
  add("Perceptual hash", image.phash);
  add("Dominant colour", image.dominant_color);
  const camera = image.camera || {};
  add("Camera", [camera.make, camera.model].filter(Boolean).join(" "));
  add("Captured", camera.captured_at);
  const timings = image.processing_ms || {};
  const total = Object.values(timings).reduce((sum, ms) => sum + ms, 0);
  if (Object.keys(timings).length) add("Processing", `${total} ms (${Object.entries(timings).map(([k, v]) => `${k} ${v} ms`).join(", ")})`);
  add("Uploaded", image.created_at);
  if (image.status === "REJECTED") add("Why refused", reasonText(image.reject_reason, image.reject_message));
  return rows;
}

// The next wait while a status is polled: 1 s, growing by half each time, at most 10 s.
export function pollDelayMs(attempt) {
  return Math.min(10_000, Math.round(1000 * 1.5 ** Math.max(0, attempt)));
}
