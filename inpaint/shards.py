"""Units of work: seeds from their identity, shares of a sweep, and parts that merge into one result.

A sweep (a comparison, a study) is a list of units of work, such as
(texture, method) or one training run. Each unit draws its randomness from a
seed made from its identity (:func:`unit_seed`), the same in every process,
so its numbers do not depend on which other units run with it, or in which
order. ``--shard i/n`` (:class:`Shard`) runs the i-th of n contiguous shares
of the units and writes a part (:func:`write_part`): the share's rows and
records, and a hash of the configuration (:func:`config_hash`). A merge
reads the parts (:func:`read_parts`), checks that they are one complete sweep
of one configuration, and hands them back in the order of the units, so that
concatenating them gives what a single run would.

Example
-------
>>> shard = Shard.parse("2/3")
>>> shard.take(["a", "b", "c", "d", "e"])
['b', 'c']
>>> str(shard), shard.name
('2/3', 'shard-2-of-3')
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch

from .atomic import write_atomic

__all__ = ["unit_seed", "Shard", "config_hash", "write_part", "read_parts", "PART_FORMAT"]

PART_FORMAT = 1
"""Version of the part files' layout."""
_SHARD = re.compile(r"\s*(-?\d+)\s*/\s*(-?\d+)\s*")
T = TypeVar("T")


def unit_seed(*identity: object) -> int:
    """A seed in [0, 2**32) from a unit's identity, the same in every process and on every machine.

    The parts are joined with ``/`` and hashed with CRC-32 (``hash()`` of a
    string changes from one process to the next).

    >>> unit_seed(0, "cork.png", "diffusion")
    3912426542
    """
    return zlib.crc32("/".join(str(p) for p in identity).encode())


@dataclass(frozen=True)
class Shard:
    """The ``index``-th (1-based) of ``count`` shares of a sweep's units."""

    index: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"shard {self.index}/{self.count}: the number of shards must be >= 1")
        if not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index}/{self.count} is out of range: the index must be in 1..{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"`` -> ``Shard(i, n)``, with an error that says what is expected."""
        match = _SHARD.fullmatch(str(text))
        if match is None:
            raise ValueError(f"a shard is written i/n, such as 2/3 (the second of 3 shares); got {text!r}")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def name(self) -> str:
        """File name of the part: ``shard-i-of-n``."""
        return f"shard-{self.index}-of-{self.count}"

    @property
    def whole(self) -> bool:
        """True for 1/1, the whole sweep in one run."""
        return self.count == 1

    def take(self, units: Sequence[T]) -> list[T]:
        """This shard's contiguous block of ``units``; the blocks of 1..n differ in size by at most one.

        Contiguous blocks keep the order of a single run when the parts are
        concatenated in shard order. A shard may be empty when there are
        fewer units than shards.
        """
        n = len(units)
        return list(units[(self.index - 1) * n // self.count : self.index * n // self.count])


def config_hash(config: Mapping) -> str:
    """First 16 hex digits of the sha256 of ``config`` as sorted JSON: equal hash, equal configuration."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_part(folder: str | os.PathLike, shard: Shard, config: Mapping, units: Sequence[str], record: dict,
               tensors: dict[str, torch.Tensor] | None = None) -> Path:
    """Write ``folder/shard-i-of-n.json`` (and ``.pt`` for ``tensors``): one shard's share of a sweep.

    Parameters
    ----------
    folder : path
        Where the parts of one sweep meet; created if missing.
    shard : Shard
    config : mapping
        What defines the sweep's numbers, JSON-serializable; its
        :func:`config_hash` is written into the part, and the mapping too, so
        that a merge can say which options differ.
    units : sequence of str
        Identities of the units this shard ran.
    record : dict
        The shard's rows and records, JSON-serializable (NaN allowed).
    tensors : dict of str -> Tensor, optional
        Pictures and other arrays, saved next to the JSON with ``torch.save``.

    Returns
    -------
    Path of the JSON file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{shard.name}.json"
    part = {"format": PART_FORMAT, "shard": str(shard), "config_hash": config_hash(config), "config": dict(config),
            "units": list(units), **record}
    if tensors is not None:
        write_atomic(path.with_suffix(".pt"), lambda f: torch.save(tensors, f))
    write_atomic(path, lambda f: f.write((json.dumps(part, indent=1, default=str) + "\n").encode()))
    return path


def _differences(a: Mapping, b: Mapping, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested mappings."""
    out = []
    for key in sorted(set(a) | set(b), key=str):
        x, y = a.get(key), b.get(key)
        if isinstance(x, Mapping) and isinstance(y, Mapping):
            out += _differences(x, y, f"{prefix}{key}.")
        elif x != y:
            out.append(f"{prefix}{key}")
    return out


def _check_one_sweep(parts: list[dict], folder: Path) -> None:
    first = parts[0]
    for part in parts[1:]:
        if part["config_hash"] != first["config_hash"]:
            keys = ", ".join(_differences(first.get("config", {}), part.get("config", {}))) or "unknown options"
            raise ValueError(f"{first['file']} and {part['file']} come from different configurations (config hash "
                             f"{first['config_hash']} and {part['config_hash']}; they differ in {keys}): remove the "
                             "parts of the run you do not want, or run its shards again with the same options")
        if part["shard"].count != first["shard"].count:
            raise ValueError(f"{first['file']} is shard {first['shard']} but {part['file']} is shard {part['shard']}: "
                             f"parts of different splits cannot be merged; remove one split's parts from {folder}")
    by_index: dict[int, dict] = {}
    for part in parts:
        seen = by_index.setdefault(part["shard"].index, part)
        if seen is not part:
            raise ValueError(f"shard {part['shard']} is duplicated: in {seen['file']} and in {part['file']}; "
                             "remove one of them")
    count = first["shard"].count
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in by_index]
    if missing:
        raise ValueError(f"{folder} lacks shard {', '.join(missing)} of {count}: run "
                         + ", ".join(f"--shard {m}" for m in missing) + " before merging")
    owner: dict[str, str] = {}
    for part in parts:
        for unit in part["units"]:
            if owner.setdefault(unit, part["file"]) != part["file"]:
                raise ValueError(f"unit {unit} is duplicated: in {owner[unit]} and in {part['file']}; "
                                 "remove one of them, or run the shards again")


def read_parts(folder: str | os.PathLike) -> list[dict]:
    """Every part in ``folder``, checked to be one complete sweep of one configuration, in shard order.

    Each part is the dict :func:`write_part` wrote, with ``shard`` as a
    :class:`Shard`, ``file`` (its name) and ``tensors`` (the saved tensors, or
    an empty dict).

    Raises
    ------
    ValueError
        Naming the files or shards at fault: no parts; parts of different
        configurations (different config hashes) or of different splits; a
        shard missing or present twice; a unit in two parts.
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.json"))
    if not files:
        raise ValueError(f"no parts in {folder}: run the shards first (--shard i/n)")
    parts = []
    for file in files:
        part = json.loads(file.read_text())
        if not isinstance(part, dict) or part.get("format") != PART_FORMAT or "config_hash" not in part:
            raise ValueError(f"{file} is not a part of a sharded run (format {PART_FORMAT}); remove it from {folder}")
        part["shard"], part["file"] = Shard.parse(part["shard"]), file.name
        pt = file.with_suffix(".pt")
        part["tensors"] = torch.load(pt, map_location="cpu", weights_only=True) if pt.is_file() else {}
        parts.append(part)
    _check_one_sweep(parts, folder)
    return sorted(parts, key=lambda p: p["shard"].index)
