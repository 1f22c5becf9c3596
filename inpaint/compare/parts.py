"""A comparison's per-texture results as one shard's part, and back again.

``inpaint compare --shard i/n`` runs a contiguous block of the (texture,
method) units and writes what it found with :func:`to_part` through
:func:`inpaint.shards.write_part`; ``inpaint merge`` reads every part
(:func:`inpaint.shards.read_parts`) and rebuilds with :func:`from_parts` the
per-texture results a single run would have had, from which the same report
is written. Rows travel as JSON (floats at full precision, NaN kept), the
crops shown in the grid as tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

__all__ = ["to_part", "from_parts"]

FIRST, LAST = "masked input", "truth"
"""The grid's first and last columns; the methods stand between them."""


def to_part(results: list[dict]) -> tuple[dict, dict[str, Tensor]]:
    """The JSON record and the tensors of per-texture results (:func:`inpaint.compare.compare_texture`'s dicts).

    Tensor keys are ``"<i>:<column>"`` and ``"<i>:known"``, ``i`` the texture's place in ``results``.
    """
    record = [{"meta": r["meta"], "rows": r["rows"], "checkpoints": r["checkpoints"], "columns": list(r["grid"])}
              for r in results]
    tensors = {f"{i}:{name}": x.contiguous() for i, r in enumerate(results) for name, x in r["grid"].items()}
    tensors.update({f"{i}:known": r["known"].contiguous() for i, r in enumerate(results)})
    return {"textures": record}, tensors


def from_parts(parts: list[dict], methods: Sequence[str]) -> list[dict]:
    """Per-texture results (``rows``, ``grid``, ``known``, ``meta``, ``checkpoints``) from parts in shard order.

    A texture split over several parts gets their rows one after the other
    (in shard order, i.e. in the order of ``methods``) and its grid columns
    in the order masked input, ``methods``, truth.

    Raises
    ------
    ValueError
        When two parts read different pixels under one texture name.
    """
    merged: dict[str, dict] = {}
    for part in parts:
        for i, texture in enumerate(part["textures"]):
            meta, tensors = texture["meta"], part["tensors"]
            grid = {name: tensors[f"{i}:{name}"] for name in texture["columns"]}
            seen = merged.get(meta["name"])
            if seen is None:
                merged[meta["name"]] = {"meta": meta, "rows": list(texture["rows"]), "grid": grid,
                                        "known": tensors[f"{i}:known"], "checkpoints": dict(texture["checkpoints"]),
                                        "file": part["file"]}
                continue
            if seen["meta"]["sha256"] != meta["sha256"]:
                raise ValueError(f"{meta['name']} is not the same image in {seen['file']} and in {part['file']} "
                                 "(their pixels differ): run every shard on the same files")
            seen["rows"] += texture["rows"]
            seen["grid"].update(grid)
            seen["checkpoints"].update(texture["checkpoints"])
    for result in merged.values():
        result.pop("file")
        grid = result["grid"]
        result["grid"] = {name: grid[name] for name in (FIRST, *methods, LAST) if name in grid}
    return list(merged.values())
