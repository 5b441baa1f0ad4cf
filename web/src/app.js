// The page: sign in, send files, watch them become images, look at one, delete one, sign out. Everything that
// decides something lives in the modules imported here (each tested on its own); this file wires them to the
// document. No framework: the page has a dozen controls, and a bundle would only add weight and a build step.

import { Api, ApiError } from "./api.js";
import * as auth from "./auth.js";
import { refusal, contentType, SNIFF_BYTES } from "./checks.js";
import { runBounded } from "./queue.js";
import { withRetries } from "./retry.js";
import { postForm } from "./upload.js";
import { STATUS_TEXT, expiresIn, formatBytes, isFinal, metadataRows, pollDelayMs, reasonText } from "./present.js";

const PARALLEL_UPLOADS = 3;
const LISTED = ["PROCESSING", "RECEIVED", "REJECTED", "PROCESSED"];
const POLL_ATTEMPTS = 60; // ~8 minutes of polling at most, then the Refresh button

const $ = (id) => document.getElementById(id);
const state = { config: null, session: null, api: null, images: new Map(), next: null, timers: new Set(), generation: 0 };

function say(text) {
  $("status").textContent = text;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function later(ms, generation) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      state.timers.delete(timer);
      resolve(generation === state.generation);
    }, ms);
    state.timers.add(timer);
  });
}

async function loadConfig() {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: ${response.status}`);
  const config = await response.json();
  for (const field of ["apiUrl", "clientId", "signIn"]) {
    if (!(field in config)) throw new Error(`config.json has no ${field}`);
  }
  return config;
}

// ---- signing in and out ----------------------------------------------------------------------------------

function showSignIn(message = "") {
  $("workspace").hidden = true;
  $("sign-out").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  const local = state.config.signIn.mode === "password";
  $("password-form").hidden = !local;
  $("hosted-sign-in").hidden = local;
  $("sign-in-error").textContent = message;
  (local ? $("username") : $("hosted-sign-in")).focus();
}

function enter(session) {
  state.session = session;
  state.generation += 1;
  state.api = new Api(state.config.apiUrl, () => state.session.accessToken);
  $("sign-in").hidden = true;
  $("workspace").hidden = false;
  $("sign-out").hidden = false;
  $("who").hidden = false;
  $("who").textContent = `Signed in as ${session.username}`;
  $("upload-title").focus();
  refreshGallery();
}

function signOut() {
  state.generation += 1; // every poll and timer of this session stops
  for (const timer of state.timers) clearTimeout(timer);
  state.timers.clear();
  state.session = null;
  state.images.clear();
  $("gallery").replaceChildren();
  $("uploads").replaceChildren();
  auth.forgetSession();
  if (state.config.signIn.mode === "hosted") {
    location.assign(auth.logoutUrl(state.config));
    return;
  }
  say("Signed out.");
  showSignIn();
}

function handleExpiredSession(error) {
  if (error instanceof ApiError && error.status === 401) {
    auth.forgetSession();
    showSignIn("Your session has ended; sign in again.");
    return true;
  }
  return false;
}

// ---- uploads ---------------------------------------------------------------------------------------------

async function headOf(file) {
  return new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer());
}

function uploadRow(file) {
  const progress = element("progress", { max: "100", value: "0", "aria-label": `Upload of ${file.name}` });
  const status = element("span", { class: "upload-status", text: "Waiting" });
  const cancel = element("button", { type: "button", text: "Cancel", "aria-label": `Cancel ${file.name}` });
  const retry = element("button", { type: "button", text: "Retry", "aria-label": `Retry ${file.name}`, hidden: "" });
  const row = element(
    "li",
    { class: "upload" },
    element("span", { class: "upload-name", text: `${file.name} (${formatBytes(file.size)})` }),
    progress,
    status,
    cancel,
    retry,
  );
  $("uploads").append(row);
  return { row, progress, status, cancel, retry };
}

function sendTask(file, ui) {
  const idempotencyKey = crypto.randomUUID(); // one per file, kept across every retry: never two images
  const generation = state.generation;
  let imageId = null;
  const run = async () => {
    const controller = new AbortController();
    ui.cancel.hidden = false;
    ui.retry.hidden = true;
    ui.cancel.onclick = () => controller.abort();
    ui.row.dataset.state = "sending";
    try {
      const head = await headOf(file);
      await withRetries(
        async () => {
          const request = { filename: file.name, contentType: contentType(head), sizeBytes: file.size };
          let form;
          try {
            form = await state.api.requestUpload(request, idempotencyKey, controller.signal);
          } catch (error) {
            if (error instanceof ApiError && error.code === "already_uploaded") return; // an earlier try got through
            throw error;
          }
          imageId = form.image_id;
          ui.status.textContent = "Sending";
          await postForm(form.upload, file, {
            signal: controller.signal,
            onProgress: (sent, total) => {
              ui.progress.value = Math.round((100 * sent) / total);
            },
          });
        },
        {
          signal: controller.signal,
          onRetry: (error, waitMs) => {
            ui.status.textContent = `${error.message}; trying again in ${Math.ceil(waitMs / 1000)} s`;
          },
        },
      );
      ui.cancel.hidden = true;
      ui.progress.value = 100;
      ui.row.dataset.state = "sent";
      ui.status.textContent = "Sent; processing";
      if (imageId) follow(imageId, ui, generation);
    } catch (error) {
      ui.cancel.hidden = true;
      if (handleExpiredSession(error)) return;
      const cancelled = error?.name === "AbortError";
      ui.row.dataset.state = cancelled ? "cancelled" : "failed";
      ui.status.textContent = cancelled ? "Cancelled" : `Failed: ${error.message}`;
      ui.retry.hidden = false;
      ui.retry.onclick = () => run();
      throw error;
    }
  };
  return run;
}

async function follow(imageId, ui, generation) {
  for (let attempt = 0; attempt < POLL_ATTEMPTS; attempt += 1) {
    if (!(await later(pollDelayMs(attempt), generation))) return;
    let image;
    try {
      image = await state.api.getImage(imageId);
    } catch (error) {
      if (handleExpiredSession(error)) return;
      if (error instanceof ApiError && error.status === 404) return; // deleted meanwhile
      continue; // a passing failure: the next poll may answer
    }
    ui.status.textContent = image.status === "REJECTED" ? `Refused: ${reasonText(image.reject_reason)}` : STATUS_TEXT[image.status];
    ui.row.dataset.state = image.status.toLowerCase();
    upsertCard(image);
    if (isFinal(image.status)) {
      say(`${image.filename || "An image"}: ${STATUS_TEXT[image.status].toLowerCase()}.`);
      return;
    }
  }
  ui.status.textContent = "Still processing; use Refresh later";
}

async function addFiles(files) {
  const tasks = [];
  for (const file of files) {
    const ui = uploadRow(file);
    const refused = refusal({ name: file.name, size: file.size, type: file.type, head: await headOf(file) });
    if (refused) {
      ui.row.dataset.state = "refused";
      ui.progress.hidden = true;
      ui.cancel.hidden = true;
      ui.status.textContent = `Not sent: ${refused.message}`;
      continue;
    }
    tasks.push(sendTask(file, ui));
  }
  if (tasks.length) say(`Sending ${tasks.length} file${tasks.length === 1 ? "" : "s"}.`);
  await runBounded(tasks, PARALLEL_UPLOADS);
}

// ---- gallery ---------------------------------------------------------------------------------------------

function upsertCard(image) {
  state.images.set(image.image_id, image);
  const name = image.filename || image.image_id;
  const thumb = image.links?.thumb
    ? element("img", { src: image.links.thumb, alt: name, width: "160", height: "160", loading: "lazy" })
    : element("span", { class: "placeholder", "aria-hidden": "true", text: image.status === "REJECTED" ? "✕" : "…" });
  const open = element("button", { type: "button", class: "open", "aria-label": `Open ${name}`, onclick: () => openDetail(image.image_id) }, thumb);
  const words = image.status === "REJECTED" ? reasonText(image.reject_reason) : STATUS_TEXT[image.status];
  const card = element(
    "li",
    { class: "card", "data-image-id": image.image_id, "data-status": image.status },
    open,
    element("p", { class: "name", text: name }),
    element("p", { class: "state", text: words }),
    element("p", { class: "expiry", text: expiresIn(image.expires_at) }),
    element("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete ${name}`, onclick: () => remove(image.image_id) }),
  );
  $("gallery-empty").hidden = true;
  const existing = $("gallery").querySelector(`[data-image-id="${CSS.escape(image.image_id)}"]`);
  if (existing) existing.replaceWith(card);
  else $("gallery").prepend(card);
}

async function refreshGallery({ more = false } = {}) {
  const generation = state.generation;
  try {
    const pages = more
      ? [await state.api.listImages("PROCESSED", { next: state.next })]
      : await Promise.all(LISTED.map((status) => state.api.listImages(status)));
    if (generation !== state.generation) return;
    if (!more) {
      state.images.clear();
      $("gallery").replaceChildren();
    }
    const processed = pages[pages.length - 1];
    state.next = processed.next;
    // Newest first: a first load prepends oldest to newest; a further (older) page goes below, newest first.
    const items = pages.flatMap((page) => page.items).sort((a, b) => a.created_at.localeCompare(b.created_at));
    if (more) items.reverse();
    for (const image of items) {
      upsertCard(image);
      if (more) $("gallery").append($("gallery").querySelector(`[data-image-id="${CSS.escape(image.image_id)}"]`));
    }
    $("more").hidden = !state.next;
    $("gallery-empty").hidden = state.images.size > 0;
  } catch (error) {
    if (!handleExpiredSession(error)) say(`The gallery could not be loaded: ${error.message}`);
  }
}

function openDetail(imageId) {
  const image = state.images.get(imageId);
  if (!image) return;
  const dialog = $("detail");
  $("detail-title").textContent = image.filename || image.image_id;
  const links = image.links || {};
  $("detail-picture").hidden = !links.large;
  $("detail-webp").srcset = links.large_webp || "";
  $("detail-image").src = links.large || "";
  $("detail-image").alt = image.filename ? `${image.filename}, large` : "";
  $("detail-meta").replaceChildren(
    ...metadataRows(image).flatMap(([label, value]) => [element("dt", { text: label }), element("dd", { text: value })]),
  );
  const swatch = $("detail-swatch");
  swatch.hidden = !image.dominant_color;
  if (image.dominant_color) swatch.style.backgroundColor = image.dominant_color;
  $("detail-expiry").textContent = `Kept 7 days after upload: ${expiresIn(image.expires_at)}.`;
  $("detail-delete").onclick = async () => {
    if (await remove(imageId)) dialog.close();
  };
  dialog.showModal();
}

async function remove(imageId) {
  const image = state.images.get(imageId);
  const name = image?.filename || imageId;
  if (!window.confirm(`Delete ${name} now? Its original and every rendition are removed at once.`)) return false;
  try {
    await state.api.deleteImage(imageId);
  } catch (error) {
    if (handleExpiredSession(error)) return false;
    if (!(error instanceof ApiError && error.status === 404)) {
      say(`${name} could not be deleted: ${error.message}`);
      return false;
    }
  }
  state.images.delete(imageId);
  $("gallery").querySelector(`[data-image-id="${CSS.escape(imageId)}"]`)?.remove();
  $("gallery-empty").hidden = state.images.size > 0;
  say(`${name} deleted.`);
  $("gallery-title").focus();
  return true;
}

// ---- start -----------------------------------------------------------------------------------------------

function wire() {
  $("password-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("sign-in-error").textContent = "";
    try {
      enter(await auth.passwordSignIn(state.config, $("username").value.trim(), $("password").value));
      $("password").value = "";
    } catch (error) {
      $("sign-in-error").textContent = error.message;
    }
  });
  $("hosted-sign-in").addEventListener("click", () => auth.startHostedSignIn(state.config));
  $("sign-out").addEventListener("click", signOut);
  $("files").addEventListener("change", (event) => {
    addFiles([...event.target.files]).catch(() => {});
    event.target.value = "";
  });
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    addFiles([...event.dataTransfer.files]).catch(() => {});
  });
  $("refresh").addEventListener("click", () => refreshGallery());
  $("more").addEventListener("click", () => refreshGallery({ more: true }));
  $("detail-close").addEventListener("click", () => $("detail").close());
}

async function start() {
  wire();
  try {
    state.config = await loadConfig();
  } catch (error) {
    say(`The app is not configured: ${error.message}`);
    return;
  }
  try {
    const returned = state.config.signIn.mode === "hosted" ? await auth.finishHostedSignIn(state.config, location.href) : null;
    if (returned) history.replaceState(null, "", location.pathname); // the code is spent: out of the address bar
    const session = returned || auth.currentSession();
    if (session) enter(session);
    else showSignIn();
  } catch (error) {
    showSignIn(error.message);
  }
}

start();
