#!/bin/sh
# Rewrite every fixed evaluation mask set in this folder bit for bit, then redraw the figures.
# Run from anywhere; needs the inpaint package installed (pip install -e .).
set -e
here="$(cd "$(dirname "$0")" && pwd)"
python -m inpaint.cli.masks regenerate --root "$here"
python "$here/make_figures.py"
