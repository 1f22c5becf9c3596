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
