import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_UPLOAD_BYTES, SNIFF_BYTES, contentType, declaredFormat, refusal, sniffFormat } from "../src/checks.js";

const bytes = (...parts) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? Array.from(p, (c) => c.charCodeAt(0)) : p)));

const SIGNATURES = {
  jpeg: bytes([0xff, 0xd8, 0xff, 0xe0], "\0\x10JFIF\0"),
  png: bytes([0x89], "PNG\r\n\x1a\n", "\0\0\0\rIHDR"),
  gif: bytes("GIF89a", [1, 0, 1, 0]),
  webp: bytes("RIFF", [0x24, 0, 0, 0], "WEBPVP8 "),
  avif: bytes([0, 0, 0, 0x1c], "ftypavif", [0, 0, 0, 0]),
  tiff: bytes("II*\0", [8, 0, 0, 0]),
};

test("each allowed format is recognised by its signature", () => {
  for (const [format, head] of Object.entries(SIGNATURES)) assert.equal(sniffFormat(head), format);
  assert.equal(sniffFormat(bytes([0, 0, 0, 0x1c], "ftypavis")), "avif"); // an AVIF image sequence
  assert.equal(sniffFormat(bytes("MM\0*")), "tiff");
  assert.equal(sniffFormat(bytes("II+\0")), "tiff"); // BigTIFF
  assert.equal(sniffFormat(bytes("GIF87a")), "gif");
});

test("near misses and other formats are refused", () => {
  const refused = [
    bytes(), // an empty file
    bytes([0xff, 0xd8]), // a JPEG cut after two bytes
    bytes([0x89], "PNG\r\n\x1a"), // one byte short of the PNG signature
    bytes("GIF88a"),
    bytes("RIFF", [0, 0, 0, 0], "WAVE"), // a sound file
    bytes("RIFF", [0, 0, 0, 0], "WEB"),
    bytes([0, 0, 0, 0x18], "ftypheic"), // HEIC: not on the allowlist
    bytes([0, 0, 0, 0x18], "ftypavio"),
    bytes("II*\x01"),
    bytes("<svg xmlns='http://www.w3.org/2000/svg'>"),
    bytes("<?php system($_GET['c']); ?>"),
    bytes("%PDF-1.7"),
    bytes("BM"), // BMP
  ];
  for (const head of refused) assert.equal(sniffFormat(head), null, String(head));
});

test("a file is checked by its bytes, not its name or reported type", () => {
  const html = bytes("<html><script>alert(1)</script>");
  assert.deepEqual(refusal({ name: "cat.jpg", size: 40, type: "image/jpeg", head: html })?.code, "unknown_format");
  const png = SIGNATURES.png;
  assert.equal(refusal({ name: "cat.jpg", size: 4000, type: "image/jpeg", head: png })?.code, "type_mismatch");
  assert.equal(refusal({ name: "cat.jpg", size: 4000, type: "", head: png }), null); // no type: the bytes decide
  assert.equal(refusal({ name: "x.jfif", size: 4000, type: "image/jpg", head: SIGNATURES.jpeg }), null);
  assert.equal(refusal({ name: "x.png", size: 4000, type: "application/octet-stream", head: png })?.code, "type_mismatch");
  assert.equal(contentType(png), "image/png");
  assert.equal(contentType(bytes("hello")), null);
});

test("sizes: empty and over 10 MiB are refused, exactly 10 MiB is sent", () => {
  const jpeg = SIGNATURES.jpeg;
  assert.equal(refusal({ name: "a.jpg", size: 0, type: "image/jpeg", head: bytes() })?.code, "empty");
  assert.equal(refusal({ name: "a.jpg", size: MAX_UPLOAD_BYTES, type: "image/jpeg", head: jpeg }), null);
  const over = refusal({ name: "a.jpg", size: MAX_UPLOAD_BYTES + 1, type: "image/jpeg", head: jpeg });
  assert.equal(over?.code, "too_large");
  assert.match(over.message, /a\.jpg is 10,485,761 bytes; images may be at most 10,485,760 bytes/);
});

test("every refusal names the file and says why in words", () => {
  const cases = [
    { name: "empty.png", size: 0, type: "image/png", head: bytes() },
    { name: "huge.png", size: MAX_UPLOAD_BYTES * 2, type: "image/png", head: SIGNATURES.png },
    { name: "doc.png", size: 10, type: "image/png", head: bytes("%PDF-1.7") },
    { name: "photo.webp", size: 10, type: "image/webp", head: SIGNATURES.jpeg },
  ];
  for (const file of cases) {
    const why = refusal(file);
    assert.ok(why && why.message.startsWith(file.name) && why.message.length > file.name.length + 10, why?.message);
  }
});

test("declared types: aliases, parameters and case are understood; other types are not image types", () => {
  assert.equal(declaredFormat("IMAGE/PNG; charset=binary"), "png");
  assert.equal(declaredFormat("image/tif"), "tiff");
  assert.equal(declaredFormat(""), null);
  assert.equal(declaredFormat(undefined), null);
  assert.equal(declaredFormat("image/svg+xml"), undefined);
  assert.equal(declaredFormat("image/heic"), undefined);
});

test("SNIFF_BYTES covers the longest signature", () => {
  for (const head of Object.values(SIGNATURES)) assert.equal(sniffFormat(head.slice(0, SNIFF_BYTES)), sniffFormat(head));
});
