import csv
import math

from inpaint.report import markdown_table, write_results

ROWS = [{"name": "a", "x": 0.12345, "n": 3}, {"name": "b", "x": math.nan}]


def test_markdown_table_formats_cells_and_marks_missing_ones():
    lines = markdown_table(ROWS, ["name", "x", "n"], {"x": ".2f"}).splitlines()
    assert lines[0] == "| name | x | n |"
    assert lines[2] == "| a | 0.12 | 3 |"
    assert lines[3] == "| b | nan | – |"


def test_write_results_leaves_nan_and_missing_cells_empty(tmp_path):
    path = tmp_path / "r.csv"
    write_results(ROWS, path, ["name", "x", "n"])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [["name", "x", "n"], ["a", "0.12345", "3"], ["b", "", ""]]


def _texts(fig):
    return [t.get_text() for t in fig.texts]


def test_loss_figure_plots_every_curve_and_its_moving_average():
    import numpy as np
    import torch

    from inpaint.report import loss_figure

    curves = {"regression": torch.linspace(1.0, 0.1, 200), "diffusion": torch.linspace(0.5, 0.2, 100),
              "repaint": torch.zeros(0)}
    fig = loss_figure(curves)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "training loss (hole MSE)"
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["regression", "diffusion"]  # empty curves drawn not
    raw, smooth = ax.lines[0], ax.lines[1]
    assert np.allclose(raw.get_ydata(), curves["regression"].numpy()) and raw.get_xdata()[0] == 1
    assert len(smooth.get_ydata()) == 200 - 4 + 1 and smooth.get_color() == raw.get_color()  # window 200 // 50


def test_grid_figure_shows_titled_columns_with_the_hole_painted():
    import numpy as np
    import torch

    from inpaint.report import HOLE_COLOUR, grid_figure

    x = torch.zeros(2, 3, 8, 8)
    known = torch.ones(2, 1, 8, 8, dtype=torch.bool)
    known[..., 2:4, 2:4] = False
    fig = grid_figure({"masked input": x, "fill": x + 1, "truth": x - 1}, known, title="cork")
    assert fig._suptitle.get_text() == "cork"
    axes = np.array(fig.axes).reshape(2, 3)
    assert [ax.get_title() for ax in axes[0]] == ["masked input", "fill", "truth"]
    assert all(ax.get_title() == "" for ax in axes[1])
    shown = axes[0, 0].images[0].get_array()
    assert tuple(shown[2, 2]) == HOLE_COLOUR and tuple(shown[0, 0]) == (128, 128, 128)
    assert tuple(axes[0, 1].images[0].get_array()[2, 2]) == (255, 255, 255)
    assert tuple(axes[1, 2].images[0].get_array()[0, 0]) == (0, 0, 0)


def test_grid_title_clears_the_column_titles_of_a_tall_grid():
    import torch
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from inpaint.report import grid_figure

    x = torch.zeros(16, 3, 8, 8)
    fig = grid_figure({"masked input": x, "fill": x}, torch.ones(16, 1, 8, 8, dtype=torch.bool), title="a long title")
    renderer = FigureCanvasAgg(fig).get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    column = fig.axes[0].title.get_window_extent(renderer)
    assert title.y0 > column.y1  # display coordinates grow upwards


def test_plane_figure_puts_one_labelled_point_per_method_at_psnr_lpips():
    from inpaint.report import plane_figure

    nan = math.nan
    means = [{"method": "diffusion", "psnr": 20.0, "psnr_se": 0.5, "lpips": 0.2, "lpips_se": 0.01},
             {"method": "telea", "psnr": 22.0, "psnr_se": nan, "lpips": 0.4, "lpips_se": nan}]
    fig = plane_figure(means, learned=("diffusion",), title="cork")
    (ax,) = fig.axes
    assert ax.get_title() == "cork"
    assert ax.get_xlabel().startswith("PSNR") and ax.get_ylabel().startswith("LPIPS")
    points = {a.get_text(): a.xy for a in ax.texts if a.get_text() in ("diffusion", "telea")}
    assert points == {"diffusion": (20.0, 0.2), "telea": (22.0, 0.4)}
    markers = [(line.get_xdata()[0], line.get_ydata()[0], line.get_marker()) for line in ax.lines
               if len(line.get_xdata())]
    assert (20.0, 0.2, "o") in markers and (22.0, 0.4, "s") in markers  # learned round, classical square
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["learned", "classical"]


def test_rows_older_than_a_metric_are_summarized_and_written_without_it(tmp_path):
    from inpaint.evaluate import COLUMNS, overall, summarize
    from inpaint.report import write_results

    old = [{"texture": "t", "method": "m", "crop": c, "mask": "x", "sample": 0, "psnr": 20.0 + c, "ssim": 0.5,
            "lpips": 0.1, "sharpness": 1.0, "blur_effect": 0.3, "diversity": float("nan"),
            "seconds_per_fill": 0.1} for c in range(3)]
    summary = summarize(old)
    assert "tone" not in summary[0] and summary[0]["psnr"] == 21.0
    assert "tone" not in overall(summary)[0]
    write_results(old, tmp_path / "r.csv", COLUMNS)
    assert (tmp_path / "r.csv").read_text().splitlines()[0] == ",".join(k for k in COLUMNS if k in old[0])
