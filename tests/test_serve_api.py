"""The HTTP API of ``inpaint serve`` through Starlette's test client: fills keep every known pixel, in the
image's own mode and bit depth, and every bad request gets a 4xx with a message, never a 500."""

import base64
import io
import time

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from inpaint.cli.server import Limits, create_app  # noqa: E402

H, W = 48, 64


@pytest.fixture(scope="module")
def client():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with TestClient(create_app(limits=Limits(max_bytes=2**20, max_pixels=200 * 200)), raise_server_exceptions=False) as c:
        yield c
    torch.set_num_threads(threads)


def png(array: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG", **options)
    return buf.getvalue()


def cork(h=H, w=W) -> np.ndarray:
    from inpaint.shipped import texture

    return np.asarray(Image.open(texture("cork")).convert("RGB"))[:h, :w].copy()


def hole_mask(h=H, w=W) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[12:24, 20:44] = 255
    return mask


def data_url(mask: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png(mask)).decode()


def upload(client, data: bytes, name="image.png"):
    return client.post(f"/api/images?name={name}", content=data)


def run_job(client, image_id, mask, **options) -> dict:
    response = client.post("/api/jobs", json={"image": image_id, "mask": data_url(mask), **options})
    assert response.status_code == 202, response.text
    return wait(client, response.json()["id"])


def wait(client, job_id: str) -> dict:
    """The job's record once it stopped running."""
    for _ in range(1200):
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still running")


def fetch_png(client, path) -> Image.Image:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def assert_known_kept_hole_changed(out: np.ndarray, original: np.ndarray, mask: np.ndarray):
    known = mask == 0
    assert out.shape == original.shape and out.dtype == original.dtype
    assert np.array_equal(out[known], original[known])
    assert (out[~known] != original[~known]).any()


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas id=\"mask-canvas\"" in page.text
    assert client.get("/static/app.js").status_code == 200 and client.get("/static/style.css").status_code == 200
    info = client.get("/api/info").json()
    assert info["methods"] == ["patchmatch", "telea", "ns", "model", "restore"]
    assert "cork" in info["models"] and info["image"] is None


@pytest.mark.parametrize("method", ["patchmatch", "telea", "ns"])
def test_instant_methods_keep_known_pixels_of_an_rgb_image(client, method):
    original, mask = cork(), hole_mask()
    record = upload(client, png(original)).json()
    assert (record["width"], record["height"], record["mode"], record["bits"]) == (W, H, "RGB", 8)
    job = run_job(client, record["id"], mask, method=method)
    assert job["state"] == "done", job
    out = fetch_png(client, f"/api/results/{job['result']}.png")
    assert out.mode == "RGB"
    assert_known_kept_hole_changed(np.asarray(out), original, mask)
    returned = np.asarray(fetch_png(client, f"/api/results/{job['result']}/mask.png"))
    assert np.array_equal(returned, mask)


def test_a_16_bit_image_comes_back_16_bit_and_exact(client):
    import cv2

    rng = np.random.default_rng(0)
    original = (cork().astype(np.uint16) * 257 + rng.integers(0, 257, (H, W, 3))).astype(np.uint16)
    ok, data = cv2.imencode(".png", cv2.cvtColor(original, cv2.COLOR_RGB2BGR))
    record = upload(client, data.tobytes(), "deep.png").json()
    assert record["bits"] == 16
    mask = hole_mask()
    job = run_job(client, record["id"], mask, method="telea")
    response = client.get(f"/api/results/{job['result']}.png")
    assert 'filename="deep-telea.png"' in response.headers["content-disposition"]
    out = cv2.cvtColor(cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    assert out.dtype == np.uint16
    assert_known_kept_hole_changed(out, original, mask)


def test_a_grey_image_with_a_shipped_rgb_model_and_an_rgba_image(client):
    grey = cork()[..., 0].copy()
    mask = hole_mask()
    record = upload(client, png(grey)).json()
    job = run_job(client, record["id"], mask, method="model", model="cork", steps=2)
    assert job["state"] == "done", job
    assert job["label"] == "cork (2 steps)"
    out = fetch_png(client, f"/api/results/{job['result']}.png")
    assert out.mode == "L"
    assert_known_kept_hole_changed(np.asarray(out), grey, mask)

    rgba = np.dstack([cork(), np.full((H, W), 200, np.uint8)])
    rgba[30:34, 5:9, 3] = 0  # transparent: offered to the page as the hole
    record = upload(client, png(rgba)).json()
    assert record["transparent"] and record["channels"] == 4
    alpha_hole = np.asarray(fetch_png(client, f"/api/images/{record['id']}/alpha-mask.png"))
    assert alpha_hole[31, 6] == 255 and alpha_hole[0, 0] == 0
    job = run_job(client, record["id"], mask, method="patchmatch")
    out = np.asarray(fetch_png(client, f"/api/results/{job['result']}.png"))
    assert out.shape == (H, W, 4)
    assert np.array_equal(out[mask == 0], rgba[mask == 0])
    assert (out[mask > 0, 3] == 255).all()  # the filled hole is opaque (inpaint.io.join_alpha)


def test_restore_trains_on_the_image_and_fills(client):
    original, mask = cork(), hole_mask()
    record = upload(client, png(original)).json()
    job = run_job(client, record["id"], mask, method="restore", minutes=None, train_steps=2, crop=32, batch=2, steps=2)
    assert job["state"] == "done", job
    assert_known_kept_hole_changed(np.asarray(fetch_png(client, f"/api/results/{job['result']}.png")), original, mask)


def test_a_second_job_is_refused_while_one_runs_and_cancel_stops_it(client):
    record = upload(client, png(cork())).json()
    response = client.post("/api/jobs", json={"image": record["id"], "mask": data_url(hole_mask()), "method": "restore",
                                              "minutes": None, "train_steps": 100000, "crop": 32, "batch": 2})
    assert response.status_code == 202
    job_id = response.json()["id"]
    for _ in range(400):
        if client.get(f"/api/jobs/{job_id}").json()["phase"].startswith("training ("):
            break
        time.sleep(0.05)
    second = client.post("/api/jobs", json={"image": record["id"], "mask": data_url(hole_mask()), "method": "telea"})
    assert second.status_code == 409
    assert "still running" in second.json()["error"] and "cancel" in second.json()["error"]
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    for _ in range(400):
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] != "running":
            break
        time.sleep(0.05)
    assert job["state"] == "cancelled" and job["result"] is None
    assert job["done"] < 100000


def test_a_mask_file_is_checked_and_normalized(client):
    record = upload(client, png(cork())).json()
    grey_mask = np.where(hole_mask() > 0, 200, 10).astype(np.uint8)  # grey >= 128 is hole
    response = client.post(f"/api/images/{record['id']}/mask", content=png(grey_mask))
    assert response.status_code == 200
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(response.content))), hole_mask())
    wrong = client.post(f"/api/images/{record['id']}/mask", content=png(np.zeros((10, 10), np.uint8)))
    assert wrong.status_code == 400 and "differs from the image size" in wrong.json()["error"]


def _error(response, status: int, *words: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    message = response.json()["error"]
    for word in words:
        assert word in message, message


def test_bad_uploads_get_a_4xx_with_a_message(client):
    _error(upload(client, b"hello, not an image", "notes.png"), 415, "not an image")
    _error(upload(client, png(np.zeros((300, 300), np.uint8))), 413, "300x300", "more than the 40,000")
    _error(upload(client, b"x" * (2**20 + 1)), 413, "bytes")
    _error(client.post("/api/images"), 400, "no image")
    truncated = png(cork())[:200]
    assert upload(client, truncated).status_code == 400


def test_bad_jobs_get_a_4xx_with_a_message(client):
    record = upload(client, png(cork())).json()
    image, mask = record["id"], data_url(hole_mask())

    def job(**body):
        return client.post("/api/jobs", json=body)

    _error(job(image=image, mask=data_url(np.zeros((H, W), np.uint8)), method="telea"), 400, "no hole")
    _error(job(image=image, mask=data_url(np.zeros((H + 1, W), np.uint8)), method="telea"), 400, "differs from the image size")
    _error(job(image=image, mask="data:image/png;base64,@@@", method="telea"), 400, "base64")
    _error(job(image=image, mask=mask, method="magic"), 400, "'method': Input should be 'patchmatch'")
    _error(job(image=image, mask=mask), 400, "'method': Field required")
    _error(job(image=image, mask=mask, method="telea", path="/etc/passwd"), 400, "unknown option 'path'")
    _error(job(image=image, mask=mask, method="model", model="../../etc/passwd"), 400, "shipped")
    _error(job(image=image, mask=mask, method="model", steps="many"), 400, "'steps': Input should be a valid integer")
    _error(job(image=image, mask=mask, method="telea", seed=True), 400, "'seed': Input should be a valid integer")
    _error(job(image=image, mask=mask, method="model", steps=5000), 400, "steps must be between 1 and 1000")
    _error(job(image=image, mask=mask, method="restore", minutes=1), 400, "smaller than the 64x64 training crop")
    _error(job(image=image, mask=mask, method="restore", crop=12), 400, "multiple of 8")
    _error(job(image="0123456789abcdef", mask=mask, method="telea"), 404, "no image")
    _error(job(image="../x", mask=mask, method="telea"), 404, "no image")
    _error(job(mask=mask, method="telea"), 400, "'image': Field required")
    _error(client.post("/api/jobs", content=b"{not json"), 400, "JSON")
    _error(client.post("/api/jobs", json=[1, 2]), 400, "JSON object")
    _error(client.get("/api/jobs/0123456789abcdef"), 404, "no job")
    _error(client.get("/api/results/0123456789abcdef.png"), 404, "no result")
    _error(client.get(f"/api/images/{image}/alpha-mask.png"), 404, "no alpha")


def test_the_image_given_at_start_is_offered_to_the_page(tmp_path):
    Image.fromarray(cork()).save(tmp_path / "start.png")
    with TestClient(create_app(image=tmp_path / "start.png")) as c:
        record = c.get("/api/info").json()["image"]
        assert (record["name"], record["width"], record["height"]) == ("start.png", W, H)
        assert c.get(f"/api/images/{record['id']}/preview.png").status_code == 200
    with pytest.raises(ValueError, match="more than the 100"):
        create_app(image=tmp_path / "start.png", limits=Limits(max_pixels=100))


def test_a_result_becomes_the_image_of_a_second_pass_keeping_its_bit_depth(client):
    import cv2

    original = (cork().astype(np.uint16) * 257).astype(np.uint16)
    ok, data = cv2.imencode(".png", cv2.cvtColor(original, cv2.COLOR_RGB2BGR))
    record = upload(client, data.tobytes(), "deep.png").json()
    first = run_job(client, record["id"], hole_mask(), method="telea")
    used = client.post(f"/api/results/{first['result']}/use")
    assert used.status_code == 201
    image = used.json()
    assert image["id"] != record["id"] and image["bits"] == 16 and image["name"] == "deep.png"
    second = run_job(client, image["id"], hole_mask(), method="patchmatch")
    assert second["state"] == "done"
    _error(client.post("/api/results/0123456789abcdef/use"), 404, "no result")


def test_the_users_own_model_is_offered_and_fills_and_the_page_cannot_name_a_file(tmp_path):
    from inpaint.checkpoint import load_checkpoint, save_checkpoint
    from inpaint.cli.serve import user_models
    from inpaint.shipped import checkpoint

    save_checkpoint(load_checkpoint(checkpoint("cork/regression")), tmp_path / "mine" / "regression.pt")
    models = user_models((str(tmp_path / "mine" / "regression.pt"),))
    assert models == {"mine": str(tmp_path / "mine" / "regression.pt")}
    with TestClient(create_app(models=models), raise_server_exceptions=False) as c:
        assert c.get("/api/info").json()["models"][0] == "mine"
        record = upload(c, png(cork())).json()
        job = run_job(c, record["id"], hole_mask(), method="model", model="mine")
        assert job["state"] == "done", job
        out = np.asarray(fetch_png(c, f"/api/results/{job['result']}.png"))
        assert_known_kept_hole_changed(out, cork(), hole_mask())
        bad = c.post("/api/jobs", json={"image": record["id"], "mask": data_url(hole_mask()), "method": "model",
                                        "model_file": "/etc/passwd"})
        _error(bad, 400, "unknown option")
    import click

    with pytest.raises(click.BadParameter, match="named 'mine'"):
        user_models((str(tmp_path / "mine" / "regression.pt"), f"mine={tmp_path / 'mine' / 'regression.pt'}"))


def test_a_result_comes_with_the_record_of_its_fill(client):
    record = upload(client, png(cork()), "cork-crop.png").json()
    job = run_job(client, record["id"], hole_mask(), method="telea", seed=3)
    response = client.get(f"/api/results/{job['result']}/record.json")
    assert response.status_code == 200 and "cork-crop-telea.png.json" in response.headers["content-disposition"]
    made = response.json()
    assert made["model"] == {"name": "telea"} and made["seed"] == 3 and len(made["input"]["sha256"]) == 64
    assert made["hole"]["fraction"] == float((hole_mask() > 127).mean())


def test_the_api_is_described_by_an_openapi_document_and_a_page(client):
    import dataclasses

    from inpaint.cli.server import ROUTES
    from inpaint.cli.server_methods import FillRequest, TextureRequest

    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.") and len(ROUTES) == sum(len(ops) for ops in doc["paths"].values())
    job = doc["paths"]["/api/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    server_only = {"model_file", "device"}  # the page cannot set them
    assert set(job["properties"]) == {"image", "mask"} | {f.name for f in dataclasses.fields(FillRequest)} - server_only
    assert job["required"] == ["image", "mask", "method"] and job["additionalProperties"] is False
    tile = doc["paths"]["/api/images/{id}/tile"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(tile["properties"]) == {f.name for f in dataclasses.fields(TextureRequest)} - server_only - {"action"}
    page = client.get("/docs")
    assert page.status_code == 200 and "curl" in page.text and "/api/results/{id}/record.json" in page.text
    assert "/api/images/{id}/extend" in page.text and "number or null" in page.text
    for method, path, *_ in ROUTES:  # every described route exists: a made-up id gets the route's own 404
        response = client.request(method, path.replace("{id}", "0123456789abcdef"))
        assert response.status_code != 405, (method, path)


def test_tile_and_extend_an_image_keep_its_pixels_and_come_with_a_tiled_preview(client):
    from inpaint.tile import seam_energy

    original = cork(64, 64)
    record = upload(client, png(original), "floor.png").json()
    response = client.post(f"/api/images/{record['id']}/tile", json={"band": 8, "seed": 1})
    assert response.status_code == 202, response.text
    job = wait(client, response.json()["id"])
    assert job["state"] == "done" and job["label"] == "tile (prior)", job
    out = np.asarray(fetch_png(client, f"/api/results/{job['result']}.png"))
    drawn = np.asarray(fetch_png(client, f"/api/results/{job['result']}/mask.png")) > 127
    rows, cols = np.nonzero(drawn.all(1))[0], np.nonzero(drawn.all(0))[0]
    assert set(rows) == set(cols) == {*range(4), *range(60, 64)} and drawn.sum() == 64 * 64 - 56 * 56  # the wrap band
    assert np.array_equal(out[~drawn], original[~drawn]) and (out[drawn] != original[drawn]).any()
    as_tensor = lambda a: torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1  # noqa: E731
    assert seam_energy(as_tensor(out)) < seam_energy(as_tensor(original))
    tiled = np.asarray(fetch_png(client, f"/api/results/{job['result']}/tiled.png"))
    assert tiled.shape == (128, 128, 3) and np.array_equal(tiled[64:, 64:], out)
    made = client.get(f"/api/results/{job['result']}/record.json").json()
    assert made["action"] == "tile" and made["band"] == 8 and made["model"]["name"] == "prior" and made["seed"] == 1

    response = client.post(f"/api/images/{record['id']}/extend", json={"width": 96, "height": 80})
    job = wait(client, response.json()["id"])
    assert job["state"] == "done" and job["label"] == "extend 96x80 (prior)", job
    out = np.asarray(fetch_png(client, f"/api/results/{job['result']}.png"))
    assert out.shape == (80, 96, 3) and np.array_equal(out[:64, :64], original)


def test_bad_texture_jobs_get_a_4xx_with_a_message(client):
    record = upload(client, png(cork(64, 64))).json()
    rgba = upload(client, png(np.dstack([cork(64, 64), np.full((64, 64), 255, np.uint8)]))).json()
    url = f"/api/images/{record['id']}"
    _error(client.post(f"{url}/extend", json={"width": 32, "height": 80}), 400, "smaller than the image")
    _error(client.post(f"{url}/extend", json={"width": 96}), 400, "needs the new width and height")
    _error(client.post(f"{url}/extend", json={"width": 4000, "height": 4000}), 413, "over this server's")
    _error(client.post(f"{url}/tile", json={"band": 64}), 400, "band must be between 1 and 63")
    _error(client.post(f"{url}/tile", json={"band": "wide"}), 400, "'band': Input should be a valid integer")
    _error(client.post(f"{url}/tile", json={"model": "cork/repaint"}), 400, "unconditional")
    _error(client.post(f"{url}/tile", json={"model": "gravel"}), 400, "draws 1-channel images")
    _error(client.post(f"{url}/tile", json={"action": "extend"}), 400, "unknown option 'action'")
    _error(client.post(f"/api/images/{rgba['id']}/tile", json={}), 400, "alpha")
    _error(client.post("/api/images/0123456789abcdef/tile", json={}), 404, "no image")

