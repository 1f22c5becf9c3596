"""A record of an intervention: what was changed in an image, with which tool, model and settings.

Conservators document every change to an object; a fill is one.  :func:`intervention_record` gathers, for one
output, the toolkit and its version, the command, the sha256 of the input, the mask and the model (with its
name and recipe), the seed and the sampler, the hole's share of the image and its bounding box, and when it was
made, as a JSON-ready dict; :func:`write_record` puts it beside the output (``<output>.json``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import torch

from . import DISTRIBUTION, __version__
from .atomic import write_atomic

__all__ = ["file_sha256", "hole_extent", "intervention_record", "model_summary", "record_path", "restorer_summary",
           "sampler_summary", "write_record"]


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hole_extent(known: torch.Tensor) -> dict:
    """The hole of ``known`` ((1, 1, H, W) or (H, W), True = known): its share of the image and its bounding
    box (top, left, height, width) in pixels.

    Examples
    --------
    >>> known = torch.ones(4, 6, dtype=torch.bool); known[1:3, 2:5] = False
    >>> hole_extent(known)
    {'fraction': 0.25, 'box': {'top': 1, 'left': 2, 'height': 2, 'width': 3}}
    """
    hole = ~known.reshape(known.shape[-2:]).bool().cpu()
    rows, cols = hole.any(1).nonzero().flatten(), hole.any(0).nonzero().flatten()
    box = None
    if len(rows):
        box = {"top": int(rows[0]), "left": int(cols[0]), "height": int(rows[-1] - rows[0] + 1),
               "width": int(cols[-1] - cols[0] + 1)}
    return {"fraction": float(hole.double().mean()), "box": box}


def intervention_record(*, output: str | os.PathLike, image: str | os.PathLike, known: torch.Tensor,
                        mask: str | os.PathLike | None, model: dict, seed: int, sampler: dict | None,
                        command: list[str], sample: int = 0) -> dict:
    """The record of one output; ``mask`` None means the hole came from the image's alpha channel.

    ``model`` names the model (``name``, ``path``, ``sha256``, ``method``, ``step``, ``config``); ``sampler``
    is the resolved sampler's fields (None for a one-pass model).
    """
    return {
        "tool": {"name": "inpaint", "distribution": DISTRIBUTION, "version": __version__},
        "command": list(command),
        "made": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "output": str(output),
        "input": {"path": str(image), "sha256": file_sha256(image)},
        "mask": ({"path": str(mask), "sha256": file_sha256(mask)} if mask is not None
                 else {"path": None, "from": "the input's alpha channel (transparent = hole)"}),
        "hole": hole_extent(known),
        "model": model,
        "seed": seed,
        "sample": sample,
        "sampler": sampler,
    }


def model_summary(name: str, path: str | os.PathLike, ckpt) -> dict:
    """What a record says of the model that filled: its name, file, sha256, method, steps and recipe."""
    return {"name": name, "path": str(path), "sha256": file_sha256(path), "method": ckpt.config.method,
            "step": ckpt.step, "config": ckpt.config.to_dict()}


def restorer_summary(ckpt, path: str | os.PathLike | None = None) -> dict:
    """What a record says of a model trained on the damaged image itself: its file when it was kept (or given),
    the sha256 of its EMA weights, method, steps and recipe."""
    from .train import weights_digest

    weights = ckpt.ema if ckpt.ema is not None else ckpt.model
    return {"name": "trained on the input" if path is None else Path(path).name,
            "path": None if path is None else str(path), "weights_sha256": weights_digest(weights),
            "method": ckpt.config.method, "step": ckpt.step, "config": ckpt.config.to_dict()}


def sampler_summary(sampler) -> dict:
    """A resolved :class:`inpaint.fill.SamplerConfig` as the record's ``sampler``."""
    return asdict(sampler)


def record_path(output: str | os.PathLike) -> Path:
    """Where the record of ``output`` goes: ``<output>.json`` (``filled.png`` -> ``filled.png.json``)."""
    output = Path(output)
    return output.with_name(output.name + ".json")


def write_record(record: dict, output: str | os.PathLike) -> Path:
    """Write ``record`` beside ``output`` atomically; returns its path."""
    path = record_path(output)
    write_atomic(path, lambda f: f.write((json.dumps(record, indent=1) + "\n").encode()))
    return path
