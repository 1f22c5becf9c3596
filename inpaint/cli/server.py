"""``inpaint serve``: a local page to paint a hole, fill it, and compare methods (a Starlette app).

The page (``inpaint/_static/``: HTML, CSS and JavaScript, no build step) talks
to this JSON API; every fill is a call into the library
(:mod:`inpaint.cli.server_methods`), run as a job of :mod:`inpaint.cli.server_jobs`.

The API's routes are :data:`ROUTES`, one line each; the server describes them
as an OpenAPI 3.1 document at ``/openapi.json`` and as a page at ``/docs``,
with a curl example.

Safe by default: images are referred to by ids the server makes, never by
paths; uploads are bounded in bytes and in pixels (checked from the header,
before decoding, on top of Pillow's decompression-bomb guard in
:mod:`inpaint.image_files`); nothing received is unpickled; bad requests get
a 4xx with ``{"error": message}``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import io
import logging
import re
import secrets
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import torch
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..io import ImageFormatError, ImageInfo, image_size, read_image, read_mask, split_alpha, write_image, write_mask
from .server_jobs import Busy, JobRunner
from .server_methods import (INSTANT, METHODS, FillRequest, TextureRequest, check_request, check_texture_request,
                             run_request, run_texture_request)
from .server_requests import FillJob, TextureJob, parse_job

__all__ = ["Limits", "create_app", "static_folder"]

log = logging.getLogger("inpaint.serve")
_ID = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class Limits:
    """What the server accepts.

    Attributes
    ----------
    max_bytes : int
        Largest upload (image or mask file), in bytes.
    max_pixels : int
        Largest image, in pixels (width x height, from the file's header).
    keep : int
        Images and results kept in memory; older ones are forgotten.
    """

    max_bytes: int = 50 * 2**20
    max_pixels: int = 4096 * 4096
    keep: int = 8


class HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Stored:
    """An uploaded image, or a result: pixels (1, C, H, W) in [-1, 1] and how to write them back."""

    name: str
    pixels: torch.Tensor
    info: ImageInfo
    known: torch.Tensor | None = None
    label: str = ""
    seconds: float = 0.0
    record: dict | None = None  # a result's record of the intervention (inpaint.record)
    sha256: str | None = None   # an upload's, of its file


def static_folder() -> Path:
    """The page's files, shipped as package data."""
    folder = resources.files("inpaint").joinpath("_static")
    if not isinstance(folder, Path) or not folder.is_dir():
        raise FileNotFoundError(f"the page of inpaint serve is missing from {folder}; reinstall inpaint")
    return folder


class _Store:
    """Images and results by server-made id, the oldest forgotten past ``keep``."""

    def __init__(self, keep: int):
        self.keep, self.items, self.lock = keep, OrderedDict(), threading.Lock()

    def add(self, item: Stored) -> str:
        key = secrets.token_hex(8)
        with self.lock:
            self.items[key] = item
            while len(self.items) > self.keep:
                self.items.popitem(last=False)
        return key

    def get(self, key: str, what: str) -> Stored:
        item = self.items.get(key) if _ID.match(key) else None
        if item is None:
            raise HTTPError(404, f"no {what} {key!r} here (the server keeps the last {self.keep}; upload it again)")
        return item


def _safe_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem)[:60].strip("._")
    return stem or "image"


class _Server:
    """The state behind the routes: stores, the job runner, a scratch folder for files in flight."""

    def __init__(self, limits: Limits, workdir: Path, models: dict[str, str] | None = None, device: str = "cpu"):
        self.limits, self.workdir = limits, workdir
        self.models, self.device = dict(models or {}), device
        self.images, self.results = _Store(limits.keep), _Store(limits.keep)
        self.runner = JobRunner(keep=4 * limits.keep,
                                on_error=lambda job, text: log.error("job %s (%s) failed:\n%s", job.id, job.label, text))
        self.initial: dict | None = None

    def scratch(self, suffix: str) -> Path:
        return self.workdir / f"{secrets.token_hex(8)}{suffix}"

    # --- images --------------------------------------------------------------------------------------------------

    def load_image(self, path: Path, name: str) -> dict:
        """Read an image file after the pixel limit; store it; its record for the page."""
        h, w = image_size(path)
        if h * w > self.limits.max_pixels:
            raise HTTPError(413, f"the image is {w}x{h} = {w * h:,} pixels, more than the {self.limits.max_pixels:,} "
                                 "this server accepts (inpaint serve --max-pixels)")
        from ..record import file_sha256

        pixels, info = read_image(path)
        key = self.images.add(Stored(name=name, pixels=pixels, info=info, sha256=file_sha256(path)))
        return self.image_record(key)

    def image_record(self, key: str) -> dict:
        item = self.images.get(key, "image")
        transparent = info_has_alpha(item.info) and bool((item.pixels[:, -1] < 0).any())
        return {"id": key, "name": item.name, "width": item.info.size[1], "height": item.info.size[0],
                "mode": item.info.mode, "bits": item.info.bits, "channels": item.info.channels,
                "transparent": transparent}

    @staticmethod
    def png(write) -> bytes:
        """The bytes ``write(file)`` puts in a file object (a PNG by :func:`inpaint.io.write_image`'s default)."""
        buffer = io.BytesIO()
        write(buffer)
        return buffer.getvalue()

    def preview(self, pixels: torch.Tensor) -> bytes:
        """8-bit PNG of grey, grey + alpha, RGB or RGBA pixels, for the browser (which cannot show TIFF)."""
        return self.png(lambda path: write_image(pixels, path))

    def read_mask_file(self, path: Path, image: Stored) -> torch.Tensor:
        return read_mask(path, size=image.info.size)


def info_has_alpha(info: ImageInfo) -> bool:
    return info.channels in (2, 4)


async def _body(request: Request, limit: int, what: str) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPError(413, f"the {what} is {int(declared):,} bytes, more than the {limit:,} this server accepts")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, f"the {what} is more than the {limit:,} bytes this server accepts")
        chunks.append(chunk)
    if size == 0:
        raise HTTPError(400, f"the request has no {what}: send the file as the body")
    return b"".join(chunks)


def _user_error(exc: Exception) -> HTTPError:
    message = str(exc)
    return HTTPError(400, message)


# --- route handlers: each reads the server's state from the application ---------------------------------------------


def _server(request: Request) -> "_Server":
    return request.app.state.server


async def index(request: Request) -> Response:
    return FileResponse(static_folder() / "index.html", headers={"Cache-Control": "no-store"})


async def info(request: Request) -> Response:
    from ..shipped import model_names

    server = _server(request)
    return JSONResponse({"methods": list(METHODS), "instant": list(INSTANT), "models": [*server.models, *model_names()],
                         "limits": {"max_bytes": server.limits.max_bytes, "max_pixels": server.limits.max_pixels},
                         "image": server.initial})


async def upload_image(request: Request) -> Response:
    server = _server(request)
    name = request.query_params.get("name", "image.png")
    data = await _body(request, server.limits.max_bytes, "image")
    path = server.scratch(Path(name).suffix.lower()[:8] if re.match(r"^\.[A-Za-z0-9]+$", Path(name).suffix)
                          else "")
    path.write_bytes(data)
    try:
        record = await run_in_threadpool(server.load_image, path, Path(name).name)
    except ImageFormatError as exc:
        raise HTTPError(415 if "not an image" in str(exc) else 400,
                        str(exc).replace(str(path), name)) from None
    finally:
        path.unlink(missing_ok=True)
    return JSONResponse(record, status_code=201)


async def _preview(request: Request, store: str) -> Response:
    """The 8-bit PNG of an image or a result (``store``: 'images' or 'results')."""
    server = _server(request)
    item = getattr(server, store).get(request.path_params["id"], store[:-1])
    return Response(await run_in_threadpool(server.preview, item.pixels), media_type="image/png")


async def image_preview(request: Request) -> Response:
    return await _preview(request, "images")


async def alpha_mask(request: Request) -> Response:
    server = _server(request)
    item = server.images.get(request.path_params["id"], "image")
    try:
        _, known = split_alpha(item.pixels, item.info, name=item.name)
    except ImageFormatError as exc:
        raise HTTPError(404, str(exc)) from None
    return Response(server.png(lambda p: write_mask(known, p)), media_type="image/png")


async def upload_mask(request: Request) -> Response:
    server = _server(request)
    item = server.images.get(request.path_params["id"], "image")
    data = await _body(request, server.limits.max_bytes, "mask")
    known = await run_in_threadpool(_decode_mask, server, data, item, "the mask file")
    return Response(server.png(lambda p: write_mask(known, p)), media_type="image/png")


async def start_job(request: Request) -> Response:
    server = _server(request)
    job = _parse(FillJob, await _json(request, server.limits.max_bytes))
    item = server.images.get(job.image, "image")
    data = _data_url(job.mask)
    known = await run_in_threadpool(_decode_mask, server, data, item, "the painted mask")
    fill_request = replace(_library_request(job.request), model_file=server.models.get(job.model),
                           device=server.device)
    try:
        await run_in_threadpool(check_request, fill_request, item.pixels, item.info.channels, known)
    except (ValueError, FileNotFoundError) as exc:
        raise _user_error(exc) from None

    def work(report):
        out = run_request(fill_request, item.pixels, item.info.channels, known, report)
        record = page_record(item, data, known, fill_request)
        return server.results.add(Stored(name=item.name, pixels=out, info=item.info, known=known,
                                         label=fill_request.label, record=record))

    return _submit(server, fill_request.label, work)


async def tile_image(request: Request) -> Response:
    return await _texture_job(request, "tile")


async def extend_image(request: Request) -> Response:
    return await _texture_job(request, "extend")


async def _texture_job(request: Request, action: str) -> Response:
    """A texture action on an image as a job: the whole image in, a result whose ``known`` is what it kept."""
    server = _server(request)
    item = server.images.get(request.path_params["id"], "image")
    job = _parse(TextureJob, await _json(request, server.limits.max_bytes))
    texture = replace(_library_request(lambda: job.request(action)), model_file=server.models.get(job.model),
                      device=server.device)
    if action == "extend" and texture.width * texture.height > server.limits.max_pixels:
        raise HTTPError(413, f"{texture.width}x{texture.height} is over this server's {server.limits.max_pixels:,} "
                             "pixels")
    try:
        await run_in_threadpool(check_texture_request, texture, item.pixels, item.info.channels)
    except (ValueError, FileNotFoundError) as exc:
        raise _user_error(exc) from None

    def work(report):
        out, known = run_texture_request(texture, item.pixels, item.info.channels, report)
        return server.results.add(Stored(name=item.name, pixels=out, info=item.info, known=known,
                                         label=texture.label, record=texture_record(item, known, texture)))

    return _submit(server, texture.label, work)


def _submit(server: "_Server", label: str, work) -> Response:
    try:
        job = server.runner.submit(label, work)
    except Busy as exc:
        raise HTTPError(409, str(exc)) from None
    return JSONResponse(_job_record(server, job), status_code=202)


async def job_status(request: Request) -> Response:
    server = _server(request)
    return JSONResponse(_job_record(server, _job(server, request.path_params["id"])))


async def cancel_job(request: Request) -> Response:
    server = _server(request)
    job = _job(server, request.path_params["id"])
    server.runner.cancel(job.id)
    return JSONResponse(_job_record(server, job))


async def result_file(request: Request) -> Response:
    server = _server(request)
    item = server.results.get(request.path_params["id"], "result")
    data = await run_in_threadpool(server.png, lambda p: write_image(item.pixels, p, item.info))
    method = _safe_stem(item.label.split(" ")[0].replace("/", "-"))
    filename = f"{_safe_stem(item.name)}-{method}.png"
    return Response(data, media_type="image/png", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def result_preview(request: Request) -> Response:
    return await _preview(request, "results")


async def result_tiled(request: Request) -> Response:
    """The result tiled 2x2 (8-bit PNG): its wrap seams, where a tile would show them, cross the middle."""
    server = _server(request)
    item = server.results.get(request.path_params["id"], "result")
    return Response(await run_in_threadpool(server.preview, item.pixels.repeat(1, 1, 2, 2)), media_type="image/png")


async def result_record(request: Request) -> Response:
    """The record of the intervention that made a result (inpaint.record), to keep beside its download."""
    server = _server(request)
    item = server.results.get(request.path_params["id"], "result")
    filename = f"{_safe_stem(item.name)}-{_safe_stem(item.label.split(' ')[0].replace('/', '-'))}.png.json"
    return JSONResponse(item.record, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def page_record(image: Stored, mask_png: bytes, known: torch.Tensor, fill: FillRequest) -> dict:
    """The record of a fill made on the page: as ``inpaint fill`` writes it, the mask being the painted PNG."""
    import hashlib

    model = {"name": fill.method}
    if fill.method == "model":
        model = {"name": fill.model, "path": fill.model_file, "steps": fill.steps}
    elif fill.method == "restore":
        model = {"name": "trained on the input", "minutes": fill.minutes, "train_steps": fill.train_steps,
                 "init": fill.init, "crop": fill.crop, "batch": fill.batch}
    return _record(image, known, fill.label, model, fill.seed,
                   mask={"from": "painted on the page", "sha256": hashlib.sha256(mask_png).hexdigest()})


def texture_record(image: Stored, known: torch.Tensor, texture: TextureRequest) -> dict:
    """The record of a tile or extend made on the page; the 'hole' is what it drew."""
    model = ({"name": "trained on the input", "minutes": texture.minutes, "init": "auto"} if texture.minutes
             else {"name": texture.model, "path": texture.model_file})
    action = {"action": texture.action, **({"band": texture.band} if texture.action == "tile"
                                           else {"width": texture.width, "height": texture.height})}
    return _record(image, known, texture.label, model, texture.seed, **action)


def _record(image: Stored, known: torch.Tensor, label: str, model: dict, seed: int, **fields) -> dict:
    from .. import DISTRIBUTION, __version__
    from ..record import hole_extent

    return {"tool": {"name": "inpaint", "distribution": DISTRIBUTION, "version": __version__},
            "command": ["inpaint serve", label],
            "made": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "input": {"name": image.name, "sha256": image.sha256}, **fields,
            "hole": hole_extent(known), "model": model, "seed": seed}


async def use_result(request: Request) -> Response:
    """A result becomes an image, in its own mode, bit depth and profile: the page works on from it."""
    server = _server(request)
    item = server.results.get(request.path_params["id"], "result")
    key = server.images.add(Stored(name=item.name, pixels=item.pixels, info=item.info))
    return JSONResponse(server.image_record(key), status_code=201)


async def result_mask(request: Request) -> Response:
    server = _server(request)
    item = server.results.get(request.path_params["id"], "result")
    filename = f"{_safe_stem(item.name)}-mask.png"
    return Response(server.png(lambda p: write_mask(item.known, p)), media_type="image/png",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def http_error(request: Request, exc: HTTPError) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=exc.status)


async def internal_error(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)


ROUTES = (
    ("GET", "/api/info", info, "methods, models (the user's first), limits, the image given at start", "json"),
    ("POST", "/api/images", upload_image, "upload an image: the raw file as the body, ?name=N -> its record", "json"),
    ("GET", "/api/images/{id}/preview.png", image_preview, "8-bit PNG for display", "png"),
    ("GET", "/api/images/{id}/alpha-mask.png", alpha_mask, "its transparent pixels as a mask (404: none)", "png"),
    ("POST", "/api/images/{id}/mask", upload_mask, "a mask file (raw body, white = hole), checked -> a normalized PNG",
     "png"),
    ("POST", "/api/jobs", start_job, "start a fill: JSON with image, mask (PNG data URL), method and options -> the job",
     "json"),
    ("GET", "/api/jobs/{id}", job_status, "state, phase, progress, error, result id", "json"),
    ("POST", "/api/jobs/{id}/cancel", cancel_job, "stop the job at its next step", "json"),
    ("GET", "/api/results/{id}.png", result_file, "the result in the image's own mode and bit depth", "png"),
    ("GET", "/api/results/{id}/preview.png", result_preview, "8-bit PNG for display", "png"),
    ("GET", "/api/results/{id}/mask.png", result_mask, "the hole it filled (white = hole)", "png"),
    ("POST", "/api/results/{id}/use", use_result, "the result becomes an image (a next pass) -> its record", "json"),
    ("GET", "/api/results/{id}/record.json", result_record, "the record of the fill: input, mask, model, seed, hole",
     "json"),
    ("POST", "/api/images/{id}/tile", tile_image, "make the image tile: JSON options -> the job", "json"),
    ("POST", "/api/images/{id}/extend", extend_image, "grow the image to width x height: JSON options -> the job",
     "json"),
    ("GET", "/api/results/{id}/tiled.png", result_tiled, "the result tiled 2x2, to look at its seams", "png"),
)
"""The HTTP API: (method, path, handler, what it does, what it returns)."""



def openapi(limits: Limits) -> dict:
    """The OpenAPI 3.1 document of :data:`ROUTES`."""
    paths: dict = {}
    for method, path, _, summary, returns in ROUTES:
        op = {"summary": summary, "responses": {
            "200" if method == "GET" else "201": {"description": "done", "content": {
                "application/json" if returns == "json" else "image/png": {}}},
            "4XX": {"description": "a bad request: {\"error\": message}"}}}
        if "{id}" in path:
            op["parameters"] = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
        if path in BODIES:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": BODIES[path].model_json_schema()}}}
        elif path.startswith("/api/images") and method == "POST":
            op["requestBody"] = {"required": True, "description": f"the raw file, at most {limits.max_bytes:,} bytes",
                                 "content": {"application/octet-stream": {}}}
        paths.setdefault(path, {})[method.lower()] = op
    return {"openapi": "3.1.0", "info": {"title": "inpaint serve", "version": __version__,
                                         "description": "Fill a painted hole with classical methods, shipped "
                                                        "models, or a model trained on the image itself; make "
                                                        "a texture tile, or grow it."},
            "paths": paths}


BODIES = {"/api/jobs": FillJob, "/api/images/{id}/tile": TextureJob, "/api/images/{id}/extend": TextureJob}
"""The routes that take a JSON body, with its pydantic model (the OpenAPI document's schemas come from them)."""


def _json_type(schema: dict) -> str:
    """``integer``, ``one of a, b``, ``number or null``: a property of a JSON schema in words."""
    if "enum" in schema:
        return "one of " + ", ".join(schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_json_type(s) for s in schema["anyOf"])
    return schema.get("type", "")


CURL = """curl -s -X POST --data-binary @photo.png 'http://127.0.0.1:8765/api/images?name=photo.png'   # -> {"id": ...}
curl -s -X POST -H 'Content-Type: application/json' http://127.0.0.1:8765/api/jobs \\
     -d '{"image": "ID", "mask": "data:image/png;base64,'$(base64 -w0 hole.png)'", "method": "model", "model": "cork"}'
curl -s http://127.0.0.1:8765/api/jobs/JOB                      # until "state": "done"; then:
curl -s -o filled.png http://127.0.0.1:8765/api/results/RESULT.png
curl -s -X POST -H 'Content-Type: application/json' http://127.0.0.1:8765/api/images/ID/tile -d '{"band": 16}'
curl -s -o tiled.png http://127.0.0.1:8765/api/results/RESULT/tiled.png   # the result tiled 2x2"""
"""The API from a shell, as /docs shows it."""


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi(_server(request).limits))


async def api_docs(request: Request) -> Response:
    """The API as a page: every route with what it takes and returns, and a curl example."""
    from html import escape

    rows = "".join(f"<tr><td><code>{m}</code></td><td><code>{escape(p)}</code></td><td>{escape(s)}</td>"
                   f"<td>{r}</td></tr>" for m, p, _, s, r in ROUTES)
    options = "".join(f"<h2>The JSON body of POST <code>{escape(path)}</code></h2><table border='1' cellpadding='4'>"
                      + "".join(f"<tr><td><code>{k}</code></td><td>{escape(_json_type(v))}</td>"
                                f"<td>{escape(v.get('description', ''))}</td></tr>"
                                for k, v in model.model_json_schema()["properties"].items()) + "</table>"
                      for path, model in BODIES.items())
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>inpaint serve: API</title></head><body>"
            f"<h1>inpaint serve: the HTTP API</h1><p>The OpenAPI document: <a href='/openapi.json'>/openapi.json</a>. "
            f"Bad requests get a 4xx with <code>{{\"error\": message}}</code>.</p>"
            f"<table border='1' cellpadding='4'><tr><th>method</th><th>path</th><th>what</th><th>returns</th></tr>"
            f"{rows}</table>{options}"
            f"<h2>From a shell</h2><pre>{escape(CURL)}</pre></body></html>")
    return HTMLResponse(page)


def create_app(*, image: str | Path | None = None, limits: Limits = Limits(), models: dict[str, str] | None = None,
               device: str = "cpu") -> Starlette:
    """The application; ``image``, a file, is loaded at start (its errors raise here, before serving).

    ``models`` maps names the page offers (before the shipped ones) to the user's checkpoint files;
    ``device`` is where the models fill and restores train.
    """
    tmp = tempfile.TemporaryDirectory(prefix="inpaint-serve-")
    server = _Server(limits, Path(tmp.name), models, device)
    if image is not None:
        try:
            server.initial = server.load_image(Path(image), Path(image).name)
        except HTTPError as exc:
            raise ValueError(f"{image}: {exc}") from None

    routes = [Route("/", index), Route("/openapi.json", openapi_json), Route("/docs", api_docs),
              *(Route(path, handler, methods=[method]) for method, path, handler, _, _ in ROUTES),
              Mount("/static", StaticFiles(directory=static_folder()), name="static")]
    app = Starlette(routes=routes, exception_handlers={HTTPError: http_error, Exception: internal_error})
    app.state.server = server
    app.state.tmp = tmp  # removed with the app
    return app


# --- request parsing ------------------------------------------------------------------------------------------------


async def _json(request: Request, limit: int) -> dict:
    import json

    data = await _body(request, limit, "JSON body")
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise HTTPError(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise HTTPError(400, "the body must be a JSON object")
    return body


def _parse(model, body: dict):
    """``body`` checked as the pydantic ``model`` (:mod:`inpaint.cli.server_requests`), or 400 with the problem."""
    try:
        return parse_job(model, body)
    except ValueError as exc:
        raise HTTPError(400, str(exc)) from None


def _library_request(make):
    """``make()``, the library's request, or 400 with what it refuses (a range, a missing budget)."""
    try:
        return make()
    except ValueError as exc:
        raise HTTPError(400, str(exc)) from None


def _data_url(value: str) -> bytes:
    """The bytes of a ``data:image/png;base64,...`` URL (or of plain base64)."""
    payload = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPError(400, "'mask' must be a PNG as a base64 data URL (data:image/png;base64,...)") from None


def _decode_mask(server: _Server, data: bytes, image: Stored, what: str) -> torch.Tensor:
    if not data:
        raise HTTPError(400, f"{what} is empty")
    path = server.scratch(".png")
    path.write_bytes(data)
    try:
        return server.read_mask_file(path, image)
    except ImageFormatError as exc:
        message = str(exc).replace(f"{path}: ", "")
        if "no hole" in message:
            message = "the mask has no hole: paint the hole (white = hole in a mask file) before filling"
        raise HTTPError(400, f"{what}: {message}") from None
    finally:
        path.unlink(missing_ok=True)


def _job(server: _Server, key: str):
    job = server.runner.get(key) if _ID.match(key) else None
    if job is None:
        raise HTTPError(404, f"no job {key!r} here")
    return job


def _job_record(server: _Server, job) -> dict:
    record = job.snapshot()
    record["result"] = job.result if job.state == "done" else None
    return record
