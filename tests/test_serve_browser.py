"""``inpaint serve`` in a real browser: Playwright drives the system's headless Chromium.

The page is opened from a running ``inpaint serve``, a stroke is painted with
the mouse, the hole is filled with PatchMatch and with a shipped diffusion
model (the default sampler, 25 steps), and the downloaded PNGs are read back:
known pixels exact, the hole changed. Errors must show on the page. A
screenshot is saved in the test's tmp folder; the times from the click on Fill
to the result on the page go to ``timings.json`` beside it (not asserted).

Chromium is not downloaded by Playwright: the test uses ``/usr/bin/chromium``
(Debian's package; ``.ci/run`` installs it), another Chromium on the PATH, or
``$INPAINT_CHROMIUM``, and skips only when none exists.
"""

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette")
sync_api = pytest.importorskip("playwright.sync_api")

SIZE = 128
MAX_PIXELS = 20_000


def chromium() -> str | None:
    candidates = [os.environ.get("INPAINT_CHROMIUM"), "/usr/bin/chromium"]
    candidates += [shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="module")
def server():
    """The URL of an ``inpaint serve`` started as a user would, on a free port."""
    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1")
    process = subprocess.Popen([sys.executable, "-m", "inpaint", "serve", "--port", "0", "--threads", "1",
                                "--max-pixels", str(MAX_PIXELS)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    seen = []
    try:
        while True:
            try:
                line = lines.get(timeout=120)
            except queue.Empty:
                raise AssertionError(f"inpaint serve printed no address: {seen}") from None
            seen.append(line)
            if "http://127.0.0.1:" in line:
                yield line.split()[2]
                break
            if process.poll() is not None:
                raise AssertionError(f"inpaint serve exited: {''.join(seen)}")
    finally:
        process.terminate()
        process.wait(20)


@pytest.fixture(scope="module")
def browser():
    path = chromium()
    if path is None:
        pytest.skip("no Chromium found (/usr/bin/chromium, chromium on the PATH, or $INPAINT_CHROMIUM); "
                    "on Debian: apt-get install chromium")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True)
        yield browser
        browser.close()


def download(page, selector: str, folder: Path) -> Path:
    with page.expect_download() as info:
        page.click(selector)
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def fill_and_wait(page, cards_before: int) -> float:
    """Click Fill; the seconds until the result's card is on the page."""
    started = time.perf_counter()
    page.click("#fill")
    page.wait_for_selector(f"#cards .card:nth-child({cards_before + 1})", timeout=120_000)
    return time.perf_counter() - started


def cork_crop() -> np.ndarray:
    from inpaint.shipped import texture

    return np.asarray(Image.open(texture("cork")).convert("RGB"))[:SIZE, :SIZE].copy()


def new_page(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.goto(server)
    page.wait_for_selector("body[data-ready='1']")
    return page


def open_image(page, path: Path) -> None:
    page.set_input_files("#open-image", str(path))
    page.wait_for_function(f"document.getElementById('image-info').textContent.includes('{SIZE}x{SIZE}, RGB, 8-bit')")


def message_says(page, text: str) -> None:
    page.wait_for_function(f"document.getElementById('message').textContent.includes({json.dumps(text)})")


def paint_stroke(page) -> None:
    box = page.locator("#mask-canvas").bounding_box()
    page.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 0.4 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.75 * box["width"], box["y"] + 0.6 * box["height"], steps=12)
    page.mouse.up()


def test_bad_input_shows_a_message_on_the_page(server, browser, tmp_path):
    Image.fromarray(cork_crop()).save(tmp_path / "cork-crop.png")
    (tmp_path / "notes.png").write_text("not an image")
    Image.fromarray(np.zeros((150, 150), np.uint8)).save(tmp_path / "large.png")
    Image.fromarray(np.full((64, 64), 255, np.uint8)).save(tmp_path / "small-mask.png")
    page = new_page(browser, server)

    page.set_input_files("#open-image", str(tmp_path / "notes.png"))
    message_says(page, "not an image")
    page.set_input_files("#open-image", str(tmp_path / "large.png"))
    message_says(page, f"more than the {MAX_PIXELS:,}")
    open_image(page, tmp_path / "cork-crop.png")
    page.click("#fill")  # nothing painted yet
    message_says(page, "no hole")
    page.set_input_files("#load-mask", str(tmp_path / "small-mask.png"))
    message_says(page, "differs from the image size")

    paint_stroke(page)
    page.select_option("#method", "restore")
    page.fill("#crop", "256")
    page.click("#fill")
    message_says(page, "smaller than the 256x256 training crop")

    page.fill("#crop", "64")
    page.fill("#minutes", "10")
    page.click("#fill")  # a long job: progress, a second fill refused, cancel
    page.wait_for_function("document.getElementById('status').textContent.includes('training (seconds)')")
    page.click("#fill")
    message_says(page, "still running")
    page.click("#cancel")
    page.wait_for_function("document.getElementById('status').textContent.includes('cancelled')")
    assert page.locator("#cards .card").count() == 0
    page.close()


def test_paint_fill_compare_and_download_in_a_browser(server, browser, tmp_path):
    original = cork_crop()
    Image.fromarray(original).save(tmp_path / "cork-crop.png")
    page = new_page(browser, server)

    open_image(page, tmp_path / "cork-crop.png")
    page.locator("#brush").evaluate("(el) => { el.value = 12; el.dispatchEvent(new Event('input')); }")
    paint_stroke(page)

    page.select_option("#method", "patchmatch")
    timings = {"patchmatch": fill_and_wait(page, 0)}
    page.select_option("#method", "model")
    page.select_option("#model", "cork")  # the shipped diffusion model, the default sampler (25 steps)
    timings["cork, default sampler"] = fill_and_wait(page, 1)
    page.select_option("#method", "telea")
    timings["telea"] = fill_and_wait(page, 2)
    assert page.locator("#cards .card").count() == 3  # three fills of one hole, side by side
    assert page.locator("#cards .card .title").all_text_contents() == ["patchmatch", "cork", "telea"]
    assert page.locator("#message").text_content() == ""

    mask = np.asarray(Image.open(download(page, "#cards .card:nth-child(1) a.download-mask", tmp_path)))
    hole = mask > 127
    assert hole[SIZE // 2, SIZE // 2] and not hole[0, 0] and not hole[-1, -1]
    assert 0.03 < hole.mean() < 0.3
    for n, method in ((1, "patchmatch"), (2, "cork"), (3, "telea")):
        path = download(page, f"#cards .card:nth-child({n}) a.download", tmp_path)
        assert path.name == f"cork-crop-{method}.png"
        out = Image.open(path)
        assert out.mode == "RGB" and out.size == (SIZE, SIZE)
        out = np.asarray(out)
        assert np.array_equal(out[~hole], original[~hole]), method
        assert np.abs(out[hole].astype(int) - original[hole]).mean() > 1, method  # the hole was filled, not copied
    page.locator("#cards .card:nth-child(1) img").click()
    page.locator("#slider").evaluate("(el) => { el.value = 45; el.dispatchEvent(new Event('input')); }")
    page.screenshot(path=str(tmp_path / "serve.png"), full_page=True)
    (tmp_path / "timings.json").write_text(json.dumps(timings, indent=1))
    print(f"click on Fill to result on the page (s): {timings}; screenshot {tmp_path / 'serve.png'}")
    page.close()


def test_redo_shortcut_help_panning_and_using_a_result_in_a_browser(server, browser, tmp_path):
    Image.fromarray(cork_crop()).save(tmp_path / "cork-crop.png")
    page = new_page(browser, server)
    open_image(page, tmp_path / "cork-crop.png")
    painted = "(() => { const d = document.getElementById('mask-canvas').getContext('2d')" \
              ".getImageData(0, 0, 128, 128).data; let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; " \
              "return n; })()"
    paint_stroke(page)
    stroked = page.evaluate(painted)
    assert stroked > 0
    page.keyboard.press("Control+z")
    assert page.evaluate(painted) == 0
    page.keyboard.press("Control+Shift+Z")
    assert page.evaluate(painted) == stroked
    page.click("#undo")
    page.click("#redo")
    assert page.evaluate(painted) == stroked
    # undo keeps the changed rectangle only: one stroke across half the image costs less than two full copies
    assert page.evaluate("window.inpaintPage.undoBytes()") < 2 * 128 * 128 * 4

    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible() and "redo" in page.locator("#shortcuts").text_content()
    page.keyboard.press("Escape")
    assert not page.locator("#shortcuts").is_visible()

    for _ in range(12):  # zoom in until the image is much wider than the editor, which then scrolls
        if page.evaluate("(() => { const e = document.getElementById('editor'); "
                         "return e.scrollWidth > e.clientWidth + 400 && e.scrollHeight > e.clientHeight; })()"):
            break
        page.click("#zoom-in")
    page.evaluate("document.getElementById('editor').scrollLeft = 0")
    box = page.locator("#editor").bounding_box()
    before = page.evaluate(painted)
    page.keyboard.down(" ")
    page.mouse.move(box["x"] + 300, box["y"] + 200)
    page.mouse.down()
    page.mouse.move(box["x"] + 100, box["y"] + 200, steps=5)
    page.mouse.up()
    page.keyboard.up(" ")
    assert page.evaluate("document.getElementById('editor').scrollLeft") > 100  # the view moved
    assert page.evaluate(painted) == before  # and nothing was painted
    page.click("#zoom-fit")

    page.select_option("#method", "telea")
    fill_and_wait(page, 0)
    page.click("#cards .card:nth-child(1) button.use")
    page.wait_for_function("document.getElementById('status').textContent.includes('is now the image')")
    assert page.evaluate(painted) == 0  # a fresh hole on the filled image
    paint_stroke(page)
    fill_and_wait(page, 0)  # the second pass fills the filled image
    assert page.locator("#message").text_content() == ""
    page.close()


def test_tile_and_extend_with_a_tiled_preview_in_a_browser(server, browser, tmp_path):
    original = cork_crop()
    Image.fromarray(original).save(tmp_path / "cork-crop.png")
    page = new_page(browser, server)
    open_image(page, tmp_path / "cork-crop.png")
    assert page.locator("#texture-model").input_value() == "prior"  # the texture prior, untrained, by default
    assert page.locator("#extend-width").input_value() == str(2 * SIZE)

    page.fill("#band", "8")
    page.click("#tile")
    page.wait_for_selector("#cards .card:nth-child(1)", timeout=120_000)
    assert page.locator("#cards .card .title").all_text_contents() == ["tile (prior)"]
    page.wait_for_function("document.getElementById('tiled').naturalWidth === 2 * 128")
    assert page.locator("#tiled-view").is_visible()
    page.screenshot(path=str(tmp_path / "serve-tile.png"), full_page=True)
    tile = np.asarray(Image.open(download(page, "#cards .card:nth-child(1) a.download", tmp_path)))
    drawn = np.asarray(Image.open(download(page, "#cards .card:nth-child(1) a.download-mask", tmp_path))) > 127
    assert drawn[0].all() and drawn[:, 0].all() and not drawn[SIZE // 2, SIZE // 2]  # the band across the wrap
    assert np.array_equal(tile[~drawn], original[~drawn])

    page.fill("#extend-width", "136")  # 136 x 144 = 19 584 pixels, within the server's --max-pixels
    page.fill("#extend-height", "144")
    page.click("#extend")
    page.wait_for_selector("#cards .card:nth-child(1) .title:text('extend 136x144 (prior)')", timeout=120_000)
    assert page.locator("#cards .card").count() == 1  # another result, its own group
    grown = np.asarray(Image.open(download(page, "#cards .card:nth-child(1) a.download", tmp_path)))
    assert grown.shape == (144, 136, 3) and np.array_equal(grown[:SIZE, :SIZE], original)

    page.fill("#extend-width", "64")
    page.click("#extend")
    message_says(page, "smaller than the image")
    assert page.locator("#message").text_content().startswith("Cannot extend")
    page.close()
