// The page of `inpaint serve`: paint a hole, fill it through the JSON API, compare the fills.
// Plain JavaScript, no build step. The hole lives in #mask-canvas at the image's resolution:
// a pixel is hole where the canvas is painted (alpha >= 128), sent as a PNG, white = hole.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_CARDS = 4;
const UNDO_DEPTH = 100;  // changes kept; each holds only the rectangle it changed, so memory follows the strokes
const COMPARE_WIDTH = 448;  // px: the before / after view enlarges smaller images up to this

const state = {
  image: null,        // the server's record of the open image: id, name, width, height, mode, bits
  tool: "paint",
  zoom: 1,
  undo: [],           // {box, before, after}: the changed rectangle of the hole, before and after the change
  redo: [],
  pending: null,      // the whole hole at the start of a change, until the change ends
  maskVersion: 0,     // bumped on every change of the hole: fills of one hole are compared side by side
  job: null,          // {id, started, before, maskVersion}
  cards: [],          // {result, label, seconds, clientMs, before, maskVersion, el}
  shown: null,
  textureRuns: 0,     // each tile or extend result is its own group of cards
};

const imageCanvas = $("image-canvas");
const maskCanvas = $("mask-canvas");
const mask = maskCanvas.getContext("2d", { willReadFrequently: true });

// --- messages and the API --------------------------------------------------------------------------------------

function say(text) { $("status").textContent = text; }
function fail(text) { $("message").textContent = text; }
function clearMessage() { $("message").textContent = ""; }

async function api(path, options = {}) {
  const response = await fetch(path, options);
  if (!response.ok) {
    let text = `${response.status} ${response.statusText}`;
    try { text = (await response.json()).error || text; } catch (e) { /* not JSON */ }
    const error = new Error(text);
    error.status = response.status;
    throw error;
  }
  return response;
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`cannot display ${url}`));
    img.src = url;
  });
}

// --- the image --------------------------------------------------------------------------------------------------

async function openFile(file) {
  clearMessage();
  say(`Uploading ${file.name} ...`);
  try {
    const response = await api(`/api/images?name=${encodeURIComponent(file.name)}`, { method: "POST", body: file });
    await showImage(await response.json());
  } catch (e) {
    fail(`Cannot open ${file.name}: ${e.message}`);
    say("Ready.");
  }
}

async function showImage(record) {
  const img = await loadImage(`/api/images/${record.id}/preview.png`);
  state.image = record;
  for (const canvas of [imageCanvas, maskCanvas]) { canvas.width = record.width; canvas.height = record.height; }
  imageCanvas.getContext("2d").drawImage(img, 0, 0);
  state.undo = [];
  state.redo = [];
  touchMask();
  $("hint").hidden = true;
  $("image-info").textContent = `${record.name}: ${record.width}x${record.height}, ${record.mode}, ${record.bits}-bit`;
  const rgb = record.channels === 3 || record.channels === 4;  // colour channels (alpha aside): the prior is RGB
  $("prior").checked = rgb;
  $("prior").disabled = !rgb;
  $("extend-width").value = 2 * record.width;  // a start: twice each side
  $("extend-height").value = 2 * record.height;
  zoomFit();
  say("Paint the hole, then Fill.");
  if (record.transparent) {
    await maskFromUrl(`/api/images/${record.id}/alpha-mask.png`);
    say("The transparent pixels are the hole; paint or erase to change it, then Fill.");
  }
}

// --- the hole ---------------------------------------------------------------------------------------------------

function touchMask() { state.maskVersion += 1; }

function beginChange() {
  state.pending = mask.getImageData(0, 0, maskCanvas.width, maskCanvas.height);
}

function endChange() {
  // Keep only the rectangle the change touched, before and after: undo costs what was painted, not the image.
  const before = state.pending;
  state.pending = null;
  if (!before) return;
  const after = mask.getImageData(0, 0, maskCanvas.width, maskCanvas.height);
  const box = changedBox(before, after);
  if (!box) return;
  state.undo.push({ box, before: crop(before, box), after: crop(after, box) });
  if (state.undo.length > UNDO_DEPTH) state.undo.shift();
  state.redo = [];
  touchMask();
}

function changedBox(a, b) {
  const x = new Uint32Array(a.data.buffer), y = new Uint32Array(b.data.buffer), w = a.width;
  let top = -1, bottom = -1, left = w, right = -1;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === y[i]) continue;
    const row = Math.floor(i / w), col = i % w;
    if (top < 0) top = row;
    bottom = row;
    if (col < left) left = col;
    if (col > right) right = col;
  }
  return top < 0 ? null : { x: left, y: top, w: right - left + 1, h: bottom - top + 1 };
}

function crop(data, box) {
  const out = new ImageData(box.w, box.h);
  for (let row = 0; row < box.h; row++) {
    const start = ((box.y + row) * data.width + box.x) * 4;
    out.data.set(data.data.subarray(start, start + box.w * 4), row * box.w * 4);
  }
  return out;
}

function undo() {
  const change = state.undo.pop();
  if (change) { mask.putImageData(change.before, change.box.x, change.box.y); state.redo.push(change); touchMask(); }
}

function redo() {
  const change = state.redo.pop();
  if (change) { mask.putImageData(change.after, change.box.x, change.box.y); state.undo.push(change); touchMask(); }
}

function undoBytes() {
  return state.undo.reduce((sum, c) => sum + c.before.data.length + c.after.data.length, 0);
}

function clearMask() {
  if (!state.image) return;
  beginChange();
  mask.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
  endChange();
}

function maskPng() {
  // Threshold the painted alpha (antialiased edges) into a black / white PNG: white = hole.
  const { width, height } = maskCanvas;
  const painted = mask.getImageData(0, 0, width, height).data;
  const out = document.createElement("canvas");
  out.width = width; out.height = height;
  const ctx = out.getContext("2d");
  const data = ctx.createImageData(width, height);
  for (let i = 0; i < painted.length; i += 4) {
    const v = painted[i + 3] >= 128 ? 255 : 0;
    data.data[i] = data.data[i + 1] = data.data[i + 2] = v;
    data.data[i + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
  return out.toDataURL("image/png");
}

async function maskFromUrl(url) {
  const img = await loadImage(url);
  const tmp = document.createElement("canvas");
  tmp.width = maskCanvas.width; tmp.height = maskCanvas.height;
  const ctx = tmp.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const grey = ctx.getImageData(0, 0, tmp.width, tmp.height);
  const d = grey.data;
  for (let i = 0; i < d.length; i += 4) {
    const hole = d[i] >= 128;
    d[i] = 255; d[i + 1] = 0; d[i + 2] = 0; d[i + 3] = hole ? 255 : 0;
  }
  beginChange();
  mask.putImageData(grey, 0, 0);
  endChange();
}

async function loadMaskFile(file) {
  clearMessage();
  if (!state.image) { fail("Open an image before loading its mask."); return; }
  try {
    const response = await api(`/api/images/${state.image.id}/mask`, { method: "POST", body: file });
    const url = URL.createObjectURL(await response.blob());
    await maskFromUrl(url);
    URL.revokeObjectURL(url);
    say(`Loaded the mask ${file.name}.`);
  } catch (e) {
    fail(`Cannot use ${file.name} as the mask: ${e.message}`);
  }
}

// --- painting ---------------------------------------------------------------------------------------------------

let last = null;

function imagePoint(event) {
  const rect = maskCanvas.getBoundingClientRect();
  return [(event.clientX - rect.left) * maskCanvas.width / rect.width,
          (event.clientY - rect.top) * maskCanvas.height / rect.height];
}

function brushSize() { return Number($("brush").value); }

function stroke(from, to) {
  mask.globalCompositeOperation = state.tool === "erase" ? "destination-out" : "source-over";
  mask.strokeStyle = mask.fillStyle = "rgb(255, 0, 0)";
  mask.lineWidth = brushSize();
  mask.lineCap = mask.lineJoin = "round";
  mask.beginPath();
  mask.moveTo(from[0], from[1]);
  mask.lineTo(to[0], to[1]);
  mask.stroke();
  if (from[0] === to[0] && from[1] === to[1]) {
    mask.beginPath();
    mask.arc(to[0], to[1], brushSize() / 2, 0, 2 * Math.PI);
    mask.fill();
  }
  mask.globalCompositeOperation = "source-over";
}

function moveCursor(event) {
  const cursor = $("cursor");
  const rect = maskCanvas.getBoundingClientRect();
  const size = brushSize() * rect.width / maskCanvas.width;
  cursor.style.display = "block";
  cursor.style.width = cursor.style.height = `${size}px`;
  cursor.style.left = `${event.clientX - rect.left}px`;
  cursor.style.top = `${event.clientY - rect.top}px`;
}

let panning = null;  // {x, y, left, top} while space is held and the pointer drags: the view moves, nothing paints
let spaceHeld = false;

maskCanvas.addEventListener("pointerdown", (event) => {
  if (!state.image || event.button !== 0) return;
  maskCanvas.setPointerCapture(event.pointerId);
  if (spaceHeld) {
    const editor = $("editor");
    panning = { x: event.clientX, y: event.clientY, left: editor.scrollLeft, top: editor.scrollTop };
    return;
  }
  beginChange();
  last = imagePoint(event);
  stroke(last, last);
});
maskCanvas.addEventListener("pointermove", (event) => {
  if (panning) {
    const editor = $("editor");
    editor.scrollLeft = panning.left - (event.clientX - panning.x);
    editor.scrollTop = panning.top - (event.clientY - panning.y);
    return;
  }
  moveCursor(event);
  if (last === null) return;
  const point = imagePoint(event);
  stroke(last, point);
  last = point;
});
for (const type of ["pointerup", "pointercancel"]) {
  maskCanvas.addEventListener(type, () => {
    panning = null;
    if (last !== null) { last = null; endChange(); }
  });
}
maskCanvas.addEventListener("pointerleave", () => { $("cursor").style.display = "none"; });

function setTool(tool) {
  state.tool = tool;
  $("paint").classList.toggle("active", tool === "paint");
  $("erase").classList.toggle("active", tool === "erase");
}

// --- zoom -------------------------------------------------------------------------------------------------------

function setZoom(zoom) {
  state.zoom = Math.min(32, Math.max(1 / 16, zoom));
  for (const canvas of [imageCanvas, maskCanvas]) {
    canvas.style.width = `${canvas.width * state.zoom}px`;
    canvas.style.height = `${canvas.height * state.zoom}px`;
  }
  $("zoom-level").textContent = `${Math.round(state.zoom * 100)}%`;
}

function zoomFit() {
  const editor = $("editor");
  const fit = Math.min((editor.clientWidth - 24) / imageCanvas.width, (editor.clientHeight - 24) / imageCanvas.height);
  // Whole steps above 100% keep the pixels square and sharp.
  setZoom(fit >= 1 ? Math.floor(fit) : fit);
}

// --- fills ------------------------------------------------------------------------------------------------------

function fillOptions() {
  const method = $("method").value;
  const options = { method, seed: Number($("seed").value) || 0 };
  if (method === "model") {
    options.model = $("model").value;
    if ($("steps").value) options.steps = Number($("steps").value);
  } else if (method === "restore") {
    options.minutes = Number($("minutes").value);
    options.crop = Number($("crop").value);
    if ($("restore-steps").value) options.steps = Number($("restore-steps").value);
    options.init = $("prior").checked ? "prior" : "scratch";
  }
  return options;
}

function beforePicture() {
  const out = document.createElement("canvas");
  out.width = imageCanvas.width; out.height = imageCanvas.height;
  const ctx = out.getContext("2d");
  ctx.drawImage(imageCanvas, 0, 0);
  ctx.globalAlpha = 0.55;
  ctx.drawImage(maskCanvas, 0, 0);
  return out.toDataURL("image/png");
}

async function startFill() {
  clearMessage();
  if (!state.image) { fail("Open an image first."); return; }
  const body = { image: state.image.id, mask: maskPng(), ...fillOptions() };
  await startJob("/api/jobs", body, "fill", { before: beforePicture(), maskVersion: state.maskVersion });
}

function textureOptions() {
  const options = { model: $("texture-model").value, seed: Number($("seed").value) || 0 };
  const minutes = Number($("texture-minutes").value);
  if (minutes > 0) options.minutes = minutes;
  return options;
}

async function startTexture(action) {
  clearMessage();
  if (!state.image) { fail("Open an image first."); return; }
  const body = textureOptions();
  let width = state.image.width, height = state.image.height;
  if (action === "tile") {
    body.band = Number($("band").value);
  } else {
    width = Number($("extend-width").value); height = Number($("extend-height").value);
    if (!width || !height) { fail("Give the new width and height."); return; }
    Object.assign(body, { width, height });
  }
  // Texture results are compared with the image itself, placed on the new canvas; they share no hole.
  await startJob(`/api/images/${state.image.id}/${action}`, body, action,
                 { before: placedPicture(width, height), maskVersion: `${action}-${++state.textureRuns}`, texture: true });
}

function placedPicture(width, height) {
  const out = document.createElement("canvas");
  out.width = width; out.height = height;
  const ctx = out.getContext("2d");
  ctx.fillStyle = "rgba(220, 40, 40, 0.55)";
  ctx.fillRect(0, 0, width, height);
  ctx.clearRect(0, 0, imageCanvas.width, imageCanvas.height);
  ctx.drawImage(imageCanvas, 0, 0);
  return out.toDataURL("image/png");
}

async function startJob(url, body, what, card) {
  const started = performance.now();
  let job;
  try {
    const response = await api(url, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    job = await response.json();
  } catch (e) {
    fail(e.status === 409 ? `Not started: ${e.message}` : `Cannot ${what}: ${e.message}`);
    return;
  }
  state.job = { id: job.id, started, image: state.image, ...card };
  $("cancel").disabled = false;
  poll(state.job);
}

async function poll(job) {
  let record;
  try {
    record = await (await api(`/api/jobs/${job.id}`)).json();
  } catch (e) {
    fail(`Lost the job: ${e.message}`);
    finishJob(job);
    return;
  }
  const progress = $("progress");
  if (record.state === "running") {
    progress.max = Math.max(1, record.total);
    progress.value = record.done;
    const count = record.total > 1 ? ` ${record.done}/${record.total}` : "";
    say(`${record.label}: ${record.phase}${count}, ${record.seconds.toFixed(1)} s`);
    setTimeout(() => poll(job), record.seconds < 3 ? 80 : 250);  // short fills show up at once
    return;
  }
  finishJob(job);
  progress.max = 1;
  progress.value = record.state === "done" ? 1 : 0;
  if (record.state === "done") {
    const clientMs = performance.now() - job.started;
    await addCard({ result: record.result, label: record.label, seconds: record.seconds, clientMs, before: job.before,
                    maskVersion: job.maskVersion, image: job.image, texture: Boolean(job.texture) });
    say(`${record.label}: done in ${record.seconds.toFixed(2)} s.`);
  } else if (record.state === "cancelled") {
    say(`${record.label}: cancelled after ${record.seconds.toFixed(1)} s.`);
  } else {
    say(`${record.label}: failed.`);
    fail(record.error);
  }
}

function finishJob(job) {
  if (state.job === job) { state.job = null; $("cancel").disabled = true; }
}

async function cancelFill() {
  if (!state.job) return;
  try {
    await api(`/api/jobs/${state.job.id}/cancel`, { method: "POST" });
    say("Cancelling ...");
  } catch (e) {
    fail(`Cannot cancel: ${e.message}`);
  }
}

// --- results ----------------------------------------------------------------------------------------------------

async function addCard(card) {
  if (state.cards.length && (state.cards[0].maskVersion !== card.maskVersion || state.cards[0].image !== card.image)) {
    for (const old of state.cards) old.el.remove();
    state.cards = [];  // side by side means the same hole of the same image
  }
  if (state.cards.length >= MAX_CARDS) state.cards.shift().el.remove();
  const el = document.createElement("div");
  el.className = "card";
  el.dataset.result = card.result;
  el.dataset.clientMs = card.clientMs.toFixed(0);
  const stem = card.image.name.replace(/\.[^.]*$/, "");
  el.innerHTML = `<img alt=""><p class="title"></p><p class="muted time"></p>
    <div class="links"><a class="download" href="/api/results/${card.result}.png">Result PNG</a>
    <a class="download-mask" href="/api/results/${card.result}/mask.png">Mask PNG</a>
    <a class="download-record" href="/api/results/${card.result}/record.json">Record</a>
    <button class="use" title="Make this result the image and go on working on it">Use this result</button>
    <button class="remove" title="Remove">&times;</button></div>`;
  el.querySelector("img").src = `/api/results/${card.result}/preview.png`;
  el.querySelector(".title").textContent = card.label;
  el.querySelector(".time").textContent = `${card.texture ? "made" : "filled"} in ${card.seconds.toFixed(2)} s`;
  el.querySelector(".download").setAttribute("download", `${stem}-${card.label.split(" ")[0].replace("/", "-")}.png`);
  el.querySelector(".download-mask").setAttribute("download", `${stem}-mask.png`);
  el.addEventListener("click", (event) => { if (!event.target.closest("a, button")) showCard(card); });
  el.querySelector(".remove").addEventListener("click", () => removeCard(card));
  el.querySelector(".use").addEventListener("click", () => useResult(card));
  card.el = el;
  state.cards.push(card);
  $("cards").append(el);
  $("results").hidden = false;
  await showCard(card);
}

async function useResult(card) {
  // The fill becomes the image (in its own mode and bit depth, on the server): a next pass starts from it.
  clearMessage();
  try {
    const response = await api(`/api/results/${card.result}/use`, { method: "POST" });
    await showImage(await response.json());
    say(`${card.label}'s result is now the image; paint the next hole.`);
  } catch (e) {
    fail(`Cannot use that result: ${e.message}`);
  }
}

function removeCard(card) {
  state.cards = state.cards.filter((c) => c !== card);
  card.el.remove();
  if (state.shown === card) {
    if (state.cards.length) showCard(state.cards[state.cards.length - 1]); else $("results").hidden = true;
  }
}

async function showCard(card) {
  state.shown = card;
  for (const c of state.cards) c.el.classList.toggle("shown", c === card);
  $("before").src = card.before;
  $("after").src = `/api/results/${card.result}/preview.png`;
  $("shown-label").textContent = card.label;
  $("tiled-view").hidden = !card.texture;
  $("compare").querySelector(".caption").textContent = card.texture
    ? "Left of the line: the image as given (new pixels in red); right: the result. Drag the slider."
    : "Left of the line: the hole in red; right: the fill. Drag the slider.";
  if (card.texture) $("tiled").src = `/api/results/${card.result}/tiled.png`;
  // Small images are shown enlarged by a whole factor, so that their pixels stay square and sharp.
  const width = card.texture ? (await loadImage(card.before)).naturalWidth : card.image.width;
  const scale = width < COMPARE_WIDTH ? Math.max(1, Math.floor(COMPARE_WIDTH / width)) : 1;
  $("before").style.width = `${width * scale}px`;
  $("tiled").style.width = `${Math.min(2 * width * scale, 2 * COMPARE_WIDTH)}px`;  // at the scale of the view above
  await loadImage($("after").src);
}

function slide() {
  const at = Number($("slider").value);
  $("after").style.clipPath = `inset(0 0 0 ${at}%)`;
  $("divider").style.left = `${at}%`;
}

// --- wiring -----------------------------------------------------------------------------------------------------

function showOptions() {
  $("model-options").hidden = $("method").value !== "model";
  $("restore-options").hidden = $("method").value !== "restore";
}

$("open-image").addEventListener("change", (e) => { if (e.target.files[0]) openFile(e.target.files[0]); e.target.value = ""; });
$("load-mask").addEventListener("change", (e) => { if (e.target.files[0]) loadMaskFile(e.target.files[0]); e.target.value = ""; });
$("paint").addEventListener("click", () => setTool("paint"));
$("erase").addEventListener("click", () => setTool("erase"));
$("brush").addEventListener("input", () => { $("brush-size").textContent = $("brush").value; });
$("undo").addEventListener("click", undo);
$("redo").addEventListener("click", redo);
$("help").addEventListener("click", toggleHelp);
$("clear").addEventListener("click", clearMask);
$("zoom-in").addEventListener("click", () => setZoom(state.zoom >= 1 ? Math.floor(state.zoom) + 1 : state.zoom * 2));
$("zoom-out").addEventListener("click", () => setZoom(state.zoom > 1 ? Math.ceil(state.zoom) - 1 : state.zoom / 2));
$("zoom-fit").addEventListener("click", () => { if (state.image) zoomFit(); });
$("method").addEventListener("change", showOptions);
$("fill").addEventListener("click", startFill);
$("tile").addEventListener("click", () => startTexture("tile"));
$("extend").addEventListener("click", () => startTexture("extend"));
$("cancel").addEventListener("click", cancelFill);
$("slider").addEventListener("input", slide);

const editor = $("editor");
editor.addEventListener("dragover", (e) => e.preventDefault());
editor.addEventListener("drop", (e) => {
  e.preventDefault();
  if (e.dataTransfer.files[0]) openFile(e.dataTransfer.files[0]);
});
function toggleHelp() {
  const dialog = $("shortcuts");
  if (dialog.open) dialog.close(); else dialog.showModal();
}

document.addEventListener("keyup", (e) => {
  if (e.key === " ") { spaceHeld = false; $("editor").classList.remove("panning"); }
});
document.addEventListener("keydown", (e) => {
  if (e.target.matches("input, select, textarea")) return;
  if (e.key === " ") { e.preventDefault(); spaceHeld = true; $("editor").classList.add("panning"); return; }
  const redoKey = (e.ctrlKey || e.metaKey) && (e.key.toLowerCase() === "y" || (e.shiftKey && e.key.toLowerCase() === "z"));
  if (redoKey) { e.preventDefault(); redo(); }
  else if ((e.ctrlKey || e.metaKey) && e.key === "z") { e.preventDefault(); undo(); }
  else if (e.key === "?") toggleHelp();
  else if (e.key === "p") setTool("paint");
  else if (e.key === "e") setTool("erase");
  else if (e.key === "+" || e.key === "=") $("zoom-in").click();
  else if (e.key === "-") $("zoom-out").click();
});

async function start() {
  showOptions();
  slide();
  try {
    const info = await (await api("/api/info")).json();
    const select = $("model");
    for (const name of info.models) {
      const option = document.createElement("option");
      option.value = option.textContent = name;
      select.append(option);
    }
    select.value = info.models.includes("cork") ? "cork" : info.models[0];
    const textureModel = $("texture-model");
    for (const name of info.models) textureModel.append(new Option(name, name));
    textureModel.value = info.models.includes("prior") ? "prior" : info.models[0];
    if (info.image) await showImage(info.image);
  } catch (e) {
    fail(`The server did not answer: ${e.message}`);
  }
  document.body.dataset.ready = "1";
}

window.inpaintPage = { state, undoBytes };  // for the browser tests
start();
