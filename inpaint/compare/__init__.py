"""A comparison run: the scoring protocol of :mod:`inpaint.evaluate` over textures and methods, and its report.

For each texture, the evaluation set, the fillers, the rows and the
summaries are :mod:`inpaint.evaluate`'s; the runner (:mod:`inpaint.compare.runner`)
finds or trains the learned models, runs every (texture, method) and writes the report
(:mod:`inpaint.compare.report`).

A run is a list of units of work, one per (texture, method). Each crop's
sampling noise and each PatchMatch search draw from a seed made from the
unit's identity (:func:`inpaint.shards.unit_seed`), so the numbers depend on
neither the batch size nor how the units are split: ``shard`` runs a block
of the units and writes a part (:mod:`inpaint.compare.parts`), and
:func:`merge_compare` writes from every part the report a single run writes.
"""

from .report import GRID_ROWS, REPORT_FILES, package_versions, write_report
from .runner import (
    DEFAULT_CACHE, MIN_CROP, PARTS, CompareConfig, cache_folder, cache_key, compare_texture, find_checkpoint,
    learned_checkpoint, merge_compare, parse_methods, run_compare, train_config,
)

__all__ = [
    "MIN_CROP", "CompareConfig", "parse_methods", "DEFAULT_CACHE", "cache_folder", "cache_key", "train_config",
    "find_checkpoint", "learned_checkpoint", "compare_texture", "run_compare", "merge_compare", "PARTS",
    "GRID_ROWS", "REPORT_FILES", "package_versions", "write_report",
]
