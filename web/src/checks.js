// What the browser checks before it sends a file: the same allowlist and the same magic bytes as the server
// (shared/imgpipe/validation.py, sniff), so that a person learns at once that a file would be refused, and why.
// The server decides anyway; these checks only save a useless upload.

export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024; // POST /v1/uploads' size_bytes maximum (docs/api/openapi.yaml)
export const FORMATS = Object.freeze(["jpeg", "png", "webp", "gif", "avif", "tiff"]);
export const SNIFF_BYTES = 12; // the longest signature read: RIFF....WEBP, ....ftypavif

const MIME_ALIASES = { "image/jpg": "jpeg", "image/pjpeg": "jpeg", "image/tif": "tiff" };

function startsWith(bytes, offset, signature) {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((value, i) => bytes[offset + i] === value);
}

const ascii = (text) => Array.from(text, (c) => c.charCodeAt(0));

// The format the leading bytes prove, or null.
export function sniffFormat(bytes) {
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsWith(bytes, 0, ascii("GIF87a")) || startsWith(bytes, 0, ascii("GIF89a"))) return "gif";
  if (startsWith(bytes, 0, ascii("RIFF")) && startsWith(bytes, 8, ascii("WEBP"))) return "webp";
  for (const tiff of [[0x49, 0x49, 0x2a, 0x00], [0x4d, 0x4d, 0x00, 0x2a], [0x49, 0x49, 0x2b, 0x00], [0x4d, 0x4d, 0x00, 0x2b]]) {
    if (startsWith(bytes, 0, tiff)) return "tiff";
  }
  if (startsWith(bytes, 4, ascii("ftyp")) && (startsWith(bytes, 8, ascii("avif")) || startsWith(bytes, 8, ascii("avis")))) {
    return "avif";
  }
  return null;
}

// The format a browser-reported type names, null for no type, undefined for a type outside the allowlist.
export function declaredFormat(type) {
  const mime = (type || "").split(";")[0].trim().toLowerCase();
  if (!mime) return null;
  if (mime in MIME_ALIASES) return MIME_ALIASES[mime];
  const format = mime.startsWith("image/") ? mime.slice("image/".length) : "";
  return FORMATS.includes(format) ? format : undefined;
}

const describe = (bytes) => `${bytes.toLocaleString("en")} bytes`;

// Why a file would be refused ({code, message}: the server's reason codes, in plain words), or null to send it.
// head: at least its first SNIFF_BYTES bytes (fewer when the file is shorter).
export function refusal({ name, size, type, head }) {
  if (size === 0) return { code: "empty", message: `${name} is empty (0 bytes): there is no image in it.` };
  if (size > MAX_UPLOAD_BYTES) {
    return {
      code: "too_large",
      message: `${name} is ${describe(size)}; images may be at most ${describe(MAX_UPLOAD_BYTES)} (10 MiB).`,
    };
  }
  const format = sniffFormat(head);
  if (format === null) {
    return {
      code: "unknown_format",
      message: `${name} is not a JPEG, PNG, WebP, GIF, AVIF or TIFF image (its first bytes say so, whatever its name).`,
    };
  }
  const declared = declaredFormat(type);
  if (declared !== null && declared !== format) {
    return {
      code: "type_mismatch",
      message: `${name} is said to be ${type} but its bytes are ${format.toUpperCase()}.`,
    };
  }
  return null;
}

// The Content-Type to declare in POST /v1/uploads: what the bytes are, not what the file name suggests.
export function contentType(head) {
  const format = sniffFormat(head);
  return format === null ? null : `image/${format}`;
}
