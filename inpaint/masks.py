"""Mask generators: pure functions of (height, width, generator, keyword options).

Every generator returns ``known``, a bool tensor ``(1, 1, H, W)`` on the CPU, True
where the pixel is known, False in the hole.  Random numbers come only from the
caller's ``torch.Generator``, pulled in blocks of float64 uniforms so that a mask
costs one or two torch calls; shapes are rasterised with OpenCV on a uint8 canvas
that is 1 in the hole (OpenCV's and LaMa's convention) and turned into ``known``
at the end.  The same generator state gives the same mask.

Every mask has a hole pixel and a known pixel: random families redraw (from the
same generator, so deterministically) until the hole fraction lies in range; the
fixed patterns are built that way.  ``FAMILIES`` names them all:

========  ===========================================  ===============================
name      holes                                        source
========  ===========================================  ===============================
box       1-3 axis-aligned boxes, 5-50 % of the image  this module
freeform  1-3 brush strokes of 4-11 segments          DeepFill v2 (Yu et al. 2019)
thin      4-51 short thin strokes                      LaMa (Suvorov et al. 2022)
medium    4-6 strokes, or 1-5 small boxes              LaMa
thick     1-6 wide strokes, or 1-3 large boxes         LaMa
wide      = thick                                      RePaint (Lugmayr et al. 2022)
narrow    = thin                                       RePaint
sr2x      all but a stride-2 lattice                   RePaint "Super-Resolve 2x"
lines     every other row                              RePaint "Alternating Lines"
half      one half of the image                        RePaint "Half"
expand    all but a centre square                      RePaint "Expand"
========  ===========================================  ===============================

The fixed evaluation sets drawn from these families, and their files on disk, are
:mod:`inpaint.mask_sets`.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import cv2
import numpy as np
import torch
from torch import Tensor

__all__ = [
    "MASKS_VERSION", "FAMILIES", "MaskFamily", "LAMA_PRESETS", "DEFAULT_TRAINING_FAMILIES", "HALF_SIDES",
    "box_mask", "freeform_mask", "lama_mask", "sr2x_mask", "lines_mask", "half_mask", "expand_mask",
    "training_masks", "parse_families", "hole_fraction", "check_known", "scattered_ellipses_mask",
    "centre_square_mask",
]

MASKS_VERSION = 1
"""Bump when a generator draws differently for the same seed; the fixed sets then change."""

MIN_SIZE = 8
_MAX_TRIES = 200
_BLOCK = 128


class _Draws:
    """Uniform numbers from a ``torch.Generator``, pulled in float64 blocks."""

    __slots__ = ("_generator", "_values", "_next")

    def __init__(self, generator: torch.Generator) -> None:
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}; "
                             "make one with torch.Generator().manual_seed(seed)")
        self._generator, self._values, self._next = generator, [], 0

    def uniform(self, low: float = 0.0, high: float = 1.0) -> float:
        if self._next == len(self._values):
            g = self._generator
            self._values = torch.rand(_BLOCK, generator=g, dtype=torch.float64, device=g.device).tolist()
            self._next = 0
        self._next += 1
        return low + (high - low) * self._values[self._next - 1]

    def take(self, k: int) -> list[float]:
        """``k`` uniforms in [0, 1) at once (fewer Python calls in hot loops)."""
        if self._next + k > len(self._values):
            return [self.uniform() for _ in range(k)]
        self._next += k
        return self._values[self._next - k:self._next]

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high)``, like ``numpy.random.randint``."""
        return low + min(int(self.uniform() * (high - low)), high - low - 1)

    def normal(self, mean: float, std: float) -> float:
        """Box-Muller transform of two uniforms."""
        u1, u2 = self.uniform(), self.uniform()
        return mean + std * math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def check_mask_size(height: int, width: int) -> None:
    """Raise ValueError unless a mask of ``height`` x ``width`` can be drawn: integers of at least MIN_SIZE."""
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < MIN_SIZE:
            raise ValueError(f"{name} must be an integer >= {MIN_SIZE}, got {value!r}")


def _check_range(name: str, value, low: float, high: float, integer: bool = False) -> tuple:
    ok = isinstance(value, (tuple, list)) and len(value) == 2
    ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ok = ok and low <= value[0] <= value[1] <= high and (not integer or all(float(v).is_integer() for v in value))
    if not ok:
        kind = "integers" if integer else "numbers"
        raise ValueError(f"{name} must be a pair (min, max) of {kind} with {low} <= min <= max <= {high}, "
                         f"got {value!r}")
    return tuple(int(v) for v in value) if integer else tuple(float(v) for v in value)


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def check_known(known: Tensor, like: Tensor | None = None, *, same_batch: bool = True, name: str = "known") -> None:
    """The mask contract, checked in one place: ``known`` is a bool tensor ``(B, 1, H, W)``, True at known pixels.

    With ``like``, an image ``(B, C, H, W)``, the mask must match its height and
    width, and its batch too unless ``same_batch`` is False.

    Raises
    ------
    ValueError
        Saying which shape and dtype were expected and which were given.
    """
    ok = isinstance(known, Tensor) and known.dtype == torch.bool and known.ndim == 4 and known.shape[1] == 1
    expected = "(B, 1, H, W)"
    if like is not None:
        b, _, h, w = like.shape
        expected = str((b, 1, h, w)) if same_batch else f"(B, 1, {h}, {w})"
        ok = ok and known.shape[-2:] == like.shape[-2:] and (not same_batch or known.shape[0] == b)
    if not ok:
        raise ValueError(f"{name} must be a bool tensor of shape {expected}, True at known pixels; got "
                         f"{getattr(known, 'dtype', type(known).__name__)} of shape {tuple(getattr(known, 'shape', ()))}")


def hole_fraction(known: Tensor) -> Tensor:
    """Fraction of hole pixels of each mask: ``(B, 1, H, W)`` bool -> ``(B,)`` float64 in [0, 1]."""
    check_known(known)
    return (~known).flatten(1).double().mean(dim=1)


def _known(hole: np.ndarray) -> Tensor:
    """uint8 hole canvas(es) ``(..., H, W)``, 1 = hole -> ``known`` ``(B, 1, H, W)``."""
    return torch.from_numpy(hole == 0).reshape(-1, 1, *hole.shape[-2:])


def _redraw(draw: Callable[[_Draws, np.ndarray], None], draws: _Draws, height: int, width: int,
            area: tuple[float, float]) -> np.ndarray:
    """Draw holes until their fraction lies in ``area`` with at least one hole and one known pixel."""
    for _ in range(_MAX_TRIES):
        hole = np.zeros((height, width), np.uint8)
        draw(draws, hole)
        n = int(np.count_nonzero(hole))
        if 0 < n < hole.size and area[0] <= n / hole.size <= area[1]:
            return hole
    raise ValueError(f"no {height}x{width} mask with a hole fraction in {list(area)} after {_MAX_TRIES} draws; "
                     "widen the area range or change the size and count parameters")


# --- boxes ---------------------------------------------------------------------------------


def _box(draws: _Draws, height: int, width: int, *, count, area, aspect) -> np.ndarray:
    def draw(d: _Draws, hole: np.ndarray) -> None:
        k = d.integer(count[0], count[1] + 1)
        total = d.uniform(*area) * height * width
        shares = [d.uniform(0.25, 1.0) for _ in range(k)]
        for share in shares:
            pixels = total * share / sum(shares)
            ratio = math.exp(d.uniform(math.log(aspect[0]), math.log(aspect[1])))  # height / width
            bh = min(height, max(1, round(math.sqrt(pixels * ratio))))
            bw = min(width, max(1, round(math.sqrt(pixels / ratio))))
            y, x = d.integer(0, height - bh + 1), d.integer(0, width - bw + 1)
            hole[y:y + bh, x:x + bw] = 1

    return _redraw(draw, draws, height, width, area)


def box_mask(height: int, width: int, *, generator: torch.Generator, count: tuple[int, int] = (1, 3),
             area: tuple[float, float] = (0.05, 0.5), aspect: tuple[float, float] = (0.5, 2.0)) -> Tensor:
    """One or several axis-aligned boxes.

    A total area is drawn uniformly in ``area`` and split among ``count`` boxes in
    random shares (weights uniform in 0.25-1), each with a log-uniform aspect ratio
    in ``aspect`` and a uniform position.  Boxes may overlap; masks whose union falls
    outside ``area`` are redrawn, so the hole fraction always lies in ``area``.

    Parameters
    ----------
    height, width : int
        Image size in pixels, >= 8.
    generator : torch.Generator
    count : (int, int)
        Inclusive range of the number of boxes, 1 <= min <= max.
    area : (float, float)
        Range of the hole fraction, 0 < min <= max < 1.
    aspect : (float, float)
        Range of box height / width.

    Returns
    -------
    Tensor
        ``known``, ``(1, 1, height, width)`` bool.

    Examples
    --------
    >>> known = box_mask(64, 64, generator=torch.Generator().manual_seed(0))
    >>> known.shape, known.dtype
    (torch.Size([1, 1, 64, 64]), torch.bool)
    """
    check_mask_size(height, width)
    params = dict(count=_check_range("count", count, 1, 1000, integer=True),
                  area=_check_range("area", area, 1e-9, 1 - 1e-9), aspect=_check_range("aspect", aspect, 1e-3, 1e3))
    return _known(_box(_Draws(generator), height, width, **params))


# --- free-form strokes (DeepFill v2) ---------------------------------------------------------


def _freeform(draws: _Draws, height: int, width: int, *, strokes, vertices, brush, area,
              base_size=256) -> np.ndarray:
    # brush_stroke_mask of JiahuiYu/generative_inpainting (DeepFill v2), x = cos, y = sin as there
    radius, scale = math.sqrt(height**2 + width**2) / 8, min(height, width) / base_size
    mean_angle, angle_range = 2 * math.pi / 5, 2 * math.pi / 15

    def draw(d: _Draws, hole: np.ndarray) -> None:
        for _ in range(d.integer(strokes[0], strokes[1] + 1)):
            n = d.integer(vertices[0], vertices[1] + 1)
            lo, hi = mean_angle - d.uniform(0, angle_range), mean_angle + d.uniform(0, angle_range)
            angles = [2 * math.pi - d.uniform(lo, hi) if i % 2 == 0 else d.uniform(lo, hi) for i in range(n)]
            points = [(d.integer(0, width), d.integer(0, height))]
            for angle in angles:
                r = min(max(d.normal(radius, radius // 2), 0.0), 2 * radius)
                x, y = points[-1]
                points.append((int(min(max(x + r * math.cos(angle), 0), width)),
                               int(min(max(y + r * math.sin(angle), 0), height))))
            thickness = max(1, round(d.uniform(*brush) * scale))
            for p, q in zip(points[:-1], points[1:]):
                cv2.line(hole, p, q, 1, thickness)
            for p in points:  # round joints, as the reference's ellipses
                cv2.circle(hole, p, thickness // 2, 1, -1)

    return _redraw(draw, draws, height, width, area)


def freeform_mask(height: int, width: int, *, generator: torch.Generator, strokes: tuple[int, int] = (1, 3),
                  vertices: tuple[int, int] = (4, 11), brush: tuple[float, float] = (12.0, 40.0),
                  area: tuple[float, float] = (0.0, 0.6), base_size: int = 256) -> Tensor:
    """Free-form brush strokes, DeepFill v2's generator (Yu et al. 2019, Algorithm 1).

    Settings of the reference code (``brush_stroke_mask`` in JiahuiYu/generative_inpainting),
    made for 256 px images: 1-3 strokes, each a polyline of 4-11 segments (the
    reference's ``num_vertex``) whose angles alternate between ``2 pi - a`` and ``a``,
    ``a`` uniform in ``[2 pi / 5 - u1, 2 pi / 5 + u2]``, ``u1, u2`` uniform in ``[0, 2 pi / 15]``;
    segment lengths ``N(r, r // 2)`` clipped to ``[0, 2 r]``, ``r = sqrt(H^2 + W^2) / 8``;
    brush width uniform in 12-40 px with round joints.  Widths scale by
    ``min(height, width) / base_size``; lengths scale with the image already.  The
    reference caps no area; masks above ``area[1]`` are redrawn (the default 0.6 was
    not reached in 3000 draws at 64-256 px).  The reference's random flips discard
    their result, so they are left out.

    Parameters
    ----------
    height, width : int
    generator : torch.Generator
    strokes, vertices : (int, int)
        Inclusive ranges of strokes per mask and of segments per stroke.
    brush : (float, float)
        Range of the brush width in pixels at ``base_size``.
    area : (float, float)
        Accepted hole fractions; others are redrawn.
    base_size : int
        Image side the widths are given for.

    Returns
    -------
    Tensor
        ``known``, ``(1, 1, height, width)`` bool.
    """
    check_mask_size(height, width)
    params = dict(strokes=_check_range("strokes", strokes, 1, 1000, integer=True),
                  vertices=_check_range("vertices", vertices, 1, 1000, integer=True),
                  brush=_check_range("brush", brush, 1e-3, 1e6), area=_check_range("area", area, 0, 1),
                  base_size=_check_int("base_size", base_size, 1))
    return _known(_freeform(_Draws(generator), height, width, **params))


# --- LaMa's thin, medium and thick masks -----------------------------------------------------

LAMA_PRESETS: Mapping[str, Mapping] = MappingProxyType({
    "thin": MappingProxyType(dict(strokes=(4, 51), max_width=10, max_len=40, max_angle=4,
                                  box_proba=0.0, boxes=(1, 3), box_size=(30, 150), box_margin=10, max_area=0.5)),
    "medium": MappingProxyType(dict(strokes=(4, 6), max_width=50, max_len=100, max_angle=4,
                                    box_proba=0.3, boxes=(1, 5), box_size=(10, 50), box_margin=0, max_area=0.5)),
    "thick": MappingProxyType(dict(strokes=(1, 6), max_width=100, max_len=200, max_angle=4,
                                   box_proba=0.3, boxes=(1, 3), box_size=(30, 150), box_margin=10, max_area=0.5)),
})
"""LaMa's ``configs/data_gen/random_{thin,medium,thick}_256.yaml`` as :func:`lama_mask` options."""


def _lama_strokes(d: _Draws, hole: np.ndarray, strokes, max_width, max_len, max_angle, scale) -> None:
    # make_random_irregular_mask of saicinpainting/training/data/masks.py, lengths in base_size pixels
    h, w = hole.shape
    for i in range(d.integer(strokes[0], strokes[1] + 1)):
        x, y = d.integer(0, w), d.integer(0, h)
        for _ in range(1 + d.integer(0, 5)):
            u_angle, u_len, u_width = d.take(3)  # int(u * n) is randint(n): u < 1 keeps it below n
            angle = 0.01 + int(u_angle * max_angle)
            angle = 2 * 3.1415926 - angle if i % 2 == 0 else angle
            length = (10 + int(u_len * max_len)) * scale
            thickness = max(1, round((5 + int(u_width * max_width)) * scale))
            end = (min(max(int(x + length * math.sin(angle)), 0), w),
                   min(max(int(y + length * math.cos(angle)), 0), h))
            cv2.line(hole, (x, y), end, 1, thickness)
            x, y = end


def _lama_boxes(d: _Draws, hole: np.ndarray, boxes, box_size, box_margin, scale) -> None:
    # make_random_rectangle_mask; LaMa's LinearRamp makes the size range inclusive
    h, w = hole.shape
    margin = round(box_margin * scale)
    for _ in range(d.integer(boxes[0], boxes[1] + 1)):
        bh, bw = (max(1, min(round(d.integer(box_size[0], box_size[1] + 1) * scale), n - 2 * margin)) for n in (h, w))
        y, x = d.integer(margin, h - margin - bh + 1), d.integer(margin, w - margin - bw + 1)
        hole[y:y + bh, x:x + bw] = 1


def _lama(draws: _Draws, height: int, width: int, *, strokes, max_width, max_len, max_angle, box_proba, boxes,
          box_size, box_margin, max_area, base_size=256) -> np.ndarray:
    scale = min(height, width) / base_size

    def draw(d: _Draws, hole: np.ndarray) -> None:
        if d.uniform() < box_proba / (1 + box_proba):  # MixedMaskGenerator: weights 1 (strokes), box_proba
            _lama_boxes(d, hole, boxes, box_size, box_margin, scale)
        else:
            _lama_strokes(d, hole, strokes, max_width, max_len, max_angle, scale)

    return _redraw(draw, draws, height, width, (0.0, max_area))


def lama_mask(height: int, width: int, *, generator: torch.Generator, strokes: tuple[int, int] = (1, 6),
              max_width: int = 100, max_len: int = 200, max_angle: int = 4, box_proba: float = 0.3,
              boxes: tuple[int, int] = (1, 3), box_size: tuple[int, int] = (30, 150), box_margin: int = 10,
              max_area: float = 0.5, base_size: int = 256) -> Tensor:
    """LaMa's random masks (Suvorov et al. 2022): strokes or, with some probability, boxes.

    Follows ``MixedMaskGenerator`` in LaMa's ``saicinpainting/training/data/masks.py``
    and ``bin/gen_mask_dataset.py``.  With probability ``box_proba / (1 + box_proba)``
    the mask is ``boxes`` boxes with sides uniform in ``box_size`` and ``box_margin``
    to the border; otherwise ``strokes`` strokes, each starting at a uniform pixel with
    1-5 segments of angle ``0.01 + randint(max_angle)`` radians (``2 pi - angle`` for
    even strokes), length ``10 + randint(max_len)`` and width ``5 + randint(max_width)``.
    Lengths, widths, box sizes and margin are pixels of a ``base_size`` (256) image,
    scaled by ``min(height, width) / base_size``.  Masks with a hole fraction above
    ``max_area`` are redrawn, as LaMa's ``max_tamper_area: 0.5`` drops them.

    ``LAMA_PRESETS`` holds LaMa's ``configs/data_gen/random_*_256.yaml``:

    ======  =======  =========  =======  =========  =====  ========  ======
    preset  strokes  max_width  max_len  box_proba  boxes  box_size  margin
    ======  =======  =========  =======  =========  =====  ========  ======
    thin    4-51     10         40       0          --     --        --
    medium  4-6      50         100      0.3        1-5    10-50     0
    thick   1-6      100        200      0.3        1-3    30-150    10
    ======  =======  =========  =======  =========  =====  ========  ======

    and ``max_angle`` 4, ``max_area`` 0.5 in all three.  The stroke ranges end one
    above the yaml's ``max_times`` (50, 5, 5): LaMa's ``LinearRamp`` at full strength
    adds one to the upper bound.

    Parameters
    ----------
    height, width : int
    generator : torch.Generator
    strokes, boxes : (int, int)
        Inclusive ranges of strokes and of boxes per mask.
    max_width, max_len, max_angle : int
        LaMa's stroke options, see above.
    box_proba : float
        Weight of boxes against 1 for strokes.
    box_size : (int, int)
        Inclusive range of box sides.
    box_margin : int
    max_area : float
        Largest accepted hole fraction, in (0, 1).
    base_size : int

    Returns
    -------
    Tensor
        ``known``, ``(1, 1, height, width)`` bool.
    """
    check_mask_size(height, width)
    params = dict(strokes=_check_range("strokes", strokes, 1, 10_000, integer=True),
                  boxes=_check_range("boxes", boxes, 1, 1000, integer=True),
                  box_size=_check_range("box_size", box_size, 1, 1e6, integer=True),
                  max_width=_check_int("max_width", max_width, 1), max_len=_check_int("max_len", max_len, 1),
                  max_angle=_check_int("max_angle", max_angle, 1), box_margin=_check_int("box_margin", box_margin, 0),
                  base_size=_check_int("base_size", base_size, 1), box_proba=box_proba, max_area=max_area)
    if not 0 <= box_proba < math.inf or not 0 < max_area < 1:
        raise ValueError(f"need box_proba >= 0 and 0 < max_area < 1, got {box_proba!r} and {max_area!r}")
    if box_proba > 0 and 2 * round(box_margin * min(height, width) / base_size) >= min(height, width):
        raise ValueError(f"box_margin {box_margin} leaves no room for a box in a {height}x{width} image")
    return _known(_lama(_Draws(generator), height, width, **params))


# --- RePaint's fixed patterns -----------------------------------------------------------------

HALF_SIDES = ("left", "right", "top", "bottom")


def _sr2x(draws: _Draws, height: int, width: int, *, offset=None) -> np.ndarray:
    oy, ox = (draws.integer(0, 2), draws.integer(0, 2)) if offset is None else offset
    hole = np.ones((height, width), np.uint8)
    hole[oy::2, ox::2] = 0
    return hole


def _lines(draws: _Draws, height: int, width: int, *, axis="rows", phase=None) -> np.ndarray:
    phase = draws.integer(0, 2) if phase is None else phase
    hole = np.zeros((height, width), np.uint8)
    hole[(np.s_[phase::2, :] if axis == "rows" else np.s_[:, phase::2])] = 1
    return hole


def _half(draws: _Draws, height: int, width: int, *, side=None) -> np.ndarray:
    side = HALF_SIDES[draws.integer(0, 4)] if side is None else side
    hole = np.ones((height, width), np.uint8)
    hole[{"left": np.s_[:, :width // 2], "right": np.s_[:, width - width // 2:],
          "top": np.s_[:height // 2], "bottom": np.s_[height - height // 2:]}[side]] = 0
    return hole


def _expand(draws: _Draws, height: int, width: int, *, known_side=0.25) -> np.ndarray:
    side = max(1, round(known_side * min(height, width)))
    y, x = (height - side) // 2, (width - side) // 2
    hole = np.ones((height, width), np.uint8)
    hole[y:y + side, x:x + side] = 0
    return hole


def sr2x_mask(height: int, width: int, *, generator: torch.Generator, offset: tuple[int, int] | None = None) -> Tensor:
    """RePaint's "Super-Resolve 2x": only pixels ``[offset[0]::2, offset[1]::2]`` are known.

    A quarter of the image is known, so the hole fraction is 0.75 for even sizes.
    ``offset`` (row, column) is drawn from ``{0, 1}^2`` when None.  Returns ``known``
    ``(1, 1, height, width)`` bool, as every generator here.
    """
    check_mask_size(height, width)
    if offset is not None and tuple(offset) not in ((0, 0), (0, 1), (1, 0), (1, 1)):
        raise ValueError(f"offset must be None or a pair (row, column) of 0 or 1, got {offset!r}")
    return _known(_sr2x(_Draws(generator), height, width, offset=offset))


def lines_mask(height: int, width: int, *, generator: torch.Generator, axis: str = "rows",
               phase: int | None = None) -> Tensor:
    """RePaint's "Alternating Lines": rows ``phase, phase + 2, ...`` are holes.

    ``axis="columns"`` takes columns instead; ``phase`` is drawn from {0, 1} when None.
    Hole fraction 0.5 for even sizes.
    """
    check_mask_size(height, width)
    if axis not in ("rows", "columns") or phase not in (None, 0, 1):
        raise ValueError(f"axis must be 'rows' or 'columns' and phase None, 0 or 1; got {axis!r} and {phase!r}")
    return _known(_lines(_Draws(generator), height, width, axis=axis, phase=phase))


def half_mask(height: int, width: int, *, generator: torch.Generator, side: str | None = None) -> Tensor:
    """RePaint's "Half": one half of the image is known, the other half is the hole.

    ``side`` names the known half, one of ``HALF_SIDES``, drawn uniformly when None.
    The known half has ``floor(n / 2)`` rows or columns: hole fraction 0.5 for even sizes.
    """
    check_mask_size(height, width)
    if side is not None and side not in HALF_SIDES:
        raise ValueError(f"side must be None or one of {HALF_SIDES}, got {side!r}")
    return _known(_half(_Draws(generator), height, width, side=side))


def expand_mask(height: int, width: int, *, generator: torch.Generator, known_side: float = 0.25) -> Tensor:
    """RePaint's "Expand" (its ``ex64`` masks: 64 px of 256): only a centred square is known.

    The square's side is ``round(known_side * min(height, width))`` pixels (at least 1),
    so a square image has hole fraction ``1 - known_side^2`` = 0.9375.  The pattern is
    fixed: ``generator`` is checked but not drawn from.
    """
    check_mask_size(height, width)
    if not 0 < known_side < 1:
        raise ValueError(f"known_side must be in (0, 1), got {known_side!r}")
    return _known(_expand(_Draws(generator), height, width, known_side=known_side))


# --- families and training masks ----------------------------------------------------------------


@dataclass(frozen=True)
class MaskFamily:
    """A generator with its options and the hole-fraction range it keeps to.

    ``FAMILIES["thick"](64, 64, generator=g)`` calls ``generate`` with ``params``
    (keyword overrides allowed) and returns ``known`` ``(1, 1, H, W)`` bool.

    Attributes
    ----------
    generate : callable
        The public generator, e.g. :func:`lama_mask`.
    params : Mapping
        Its keyword options.
    hole_range : (float, float)
        Every mask's hole fraction lies in this closed range (images of at least
        8 px a side, and square ones for ``expand``).
    source : str
    draw : callable
        ``draw(draws, height, width, **params)`` -> uint8 hole canvas; the fast path of
        :func:`training_masks`, which skips the option checks.
    """

    generate: Callable[..., Tensor]
    params: Mapping
    hole_range: tuple[float, float]
    source: str
    draw: Callable[..., np.ndarray]

    def __call__(self, height: int, width: int, *, generator: torch.Generator, **overrides) -> Tensor:
        return self.generate(height, width, generator=generator, **{**self.params, **overrides})


def _family(generate, draw, params, hole_range, source) -> MaskFamily:
    return MaskFamily(generate, MappingProxyType(dict(params)), hole_range, source, draw)


FAMILIES: Mapping[str, MaskFamily] = MappingProxyType({
    "box": _family(box_mask, _box, dict(count=(1, 3), area=(0.05, 0.5), aspect=(0.5, 2.0)), (0.05, 0.5),
                   "boxes with a total area in 5-50 % of the image"),
    "freeform": _family(freeform_mask, _freeform, dict(strokes=(1, 3), vertices=(4, 11), brush=(12.0, 40.0),
                                                       area=(0.0, 0.6)),
                        (0.0, 0.6), "DeepFill v2 free-form strokes (Yu et al. 2019)"),
    "thin": _family(lama_mask, _lama, LAMA_PRESETS["thin"], (0.0, 0.5), "LaMa random_thin_256 (Suvorov et al. 2022)"),
    "medium": _family(lama_mask, _lama, LAMA_PRESETS["medium"], (0.0, 0.5), "LaMa random_medium_256"),
    "thick": _family(lama_mask, _lama, LAMA_PRESETS["thick"], (0.0, 0.5), "LaMa random_thick_256"),
    "wide": _family(lama_mask, _lama, LAMA_PRESETS["thick"], (0.0, 0.5),
                    "RePaint Wide = LaMa thick (Lugmayr et al. 2022)"),
    "narrow": _family(lama_mask, _lama, LAMA_PRESETS["thin"], (0.0, 0.5), "RePaint Narrow = LaMa thin"),
    "sr2x": _family(sr2x_mask, _sr2x, dict(offset=None), (0.65, 0.85), "RePaint Super-Resolve 2x"),
    "lines": _family(lines_mask, _lines, dict(axis="rows", phase=None), (0.4, 0.6), "RePaint Alternating Lines"),
    "half": _family(half_mask, _half, dict(side=None), (0.5, 0.6), "RePaint Half"),
    "expand": _family(expand_mask, _expand, dict(known_side=0.25), (0.9, 1.0), "RePaint Expand"),
})
"""Mask families by name; ``FAMILIES[name].hole_range`` is the stated hole-fraction range."""

DEFAULT_TRAINING_FAMILIES: Mapping[str, float] = MappingProxyType({"freeform": 0.5, "box": 0.5})
"""Training holes: free-form strokes and boxes, as the reference trains with (Cherel et al. 2024), half each."""


def parse_families(spec: str) -> dict[str, float]:
    """Read a family mix such as ``"thick,box"`` or ``"thick:0.7,box:0.3"``.

    Parameters
    ----------
    spec : str
        Comma-separated family names (equal weights), each optionally followed by
        ``:weight``; either every name has a weight or none does.  ``"default"``
        stands for ``DEFAULT_TRAINING_FAMILIES``.

    Returns
    -------
    dict
        Name -> weight, weights normalised to sum to 1.

    Raises
    ------
    ValueError
        Unknown or repeated names (the message lists the valid ones), weights that
        are not numbers >= 0, only some names weighted, or all weights 0.

    Examples
    --------
    >>> parse_families("thick:3,box:1")
    {'thick': 0.75, 'box': 0.25}
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("mask families must be a non-empty string like 'thick,box' or "
                         f"'thick:0.7,box:0.3', got {spec!r}")
    if spec.strip() == "default":
        return dict(DEFAULT_TRAINING_FAMILIES)
    weights: dict[str, float] = {}
    parts = [p.strip() for p in spec.split(",")]
    weighted = [":" in p for p in parts]
    if any(weighted) and not all(weighted):
        raise ValueError(f"in {spec!r} give a weight to every family or to none, e.g. 'thick:0.7,box:0.3'")
    for part in parts:
        name, _, weight = (s.strip() for s in part.partition(":"))
        if name not in FAMILIES:
            raise ValueError(f"unknown mask family {name!r} in {spec!r}; valid: {', '.join(FAMILIES)}")
        if name in weights:
            raise ValueError(f"mask family {name!r} appears twice in {spec!r}")
        try:
            weights[name] = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"weight {weight!r} of {name!r} in {spec!r} is not a number") from None
    return _normalise(weights)


def _normalise(weights: Mapping[str, float]) -> dict[str, float]:
    for name, w in weights.items():
        if name not in FAMILIES:
            raise ValueError(f"unknown mask family {name!r}; valid: {', '.join(FAMILIES)}")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w < math.inf:
            raise ValueError(f"weight of mask family {name!r} must be a finite number >= 0, got {w!r}")
    total = sum(weights.values())
    if total <= 0:
        raise ValueError(f"mask family weights must not all be 0, got {dict(weights)}")
    return {name: w / total for name, w in weights.items()}


def training_masks(n: int, height: int, width: int, *, generator: torch.Generator,
                   families: str | dict[str, float] = "default") -> torch.Tensor:
    """Draw ``n`` training holes from a weighted mix of families.

    Each mask's family is drawn independently with probability proportional to
    its weight, then the family draws the mask from the same ``generator``.

    Parameters
    ----------
    n : int
        Number of masks, >= 1.
    height, width : int
        Mask size, >= 8.
    generator : torch.Generator
    families : str or dict
        ``"default"`` (``DEFAULT_TRAINING_FAMILIES``: free-form and boxes, half each),
        a spec for :func:`parse_families`, or a dict name -> weight.

    Returns
    -------
    Tensor
        ``known``, ``(n, 1, height, width)`` bool, True = known.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> training_masks(16, 64, 64, generator=g, families="thick,box").shape
    torch.Size([16, 1, 64, 64])
    """
    _check_int("n", n, 1)
    if isinstance(families, str):
        weights = parse_families(families)
    elif isinstance(families, Mapping) and families:
        weights = _normalise(families)
    else:
        raise ValueError(f"families must be a spec string or a non-empty dict name -> weight, got {families!r}")
    check_mask_size(height, width)
    names, edges = list(weights), list(itertools.accumulate(weights.values()))
    draws = _Draws(generator)  # one stream for the whole batch: a few torch calls in all
    picks = [FAMILIES[names[min(bisect.bisect_right(edges, draws.uniform(0, edges[-1])), len(names) - 1)]]
             for _ in range(n)]
    return _known(np.stack([f.draw(draws, height, width, **f.params) for f in picks]))


# --- the holes of the restore benchmarks (experiments/restore_*.py) -------------------------------------------


def scattered_ellipses_mask(size: int, *, seed: int, fraction: float = 0.05) -> Tensor:
    """``known`` (1, 1, size, size): filled ellipses 16 to 32 px across, scattered until ``fraction`` of the area
    is hole (scratches and spots on a large image).

    Drawn from NumPy's ``default_rng(seed)``, not a torch generator: the restore
    benchmarks' published images were made that way.
    """
    _check_fraction(fraction)
    rng = np.random.default_rng(seed)
    hole = np.zeros((size, size), np.uint8)
    while (have := hole.mean()) < fraction:
        for _ in range(max(1, int((fraction - have) * size * size / 400))):
            centre = tuple(int(v) for v in rng.integers(0, size, 2))
            axes = tuple(int(v) for v in rng.integers(8, 17, 2))
            cv2.ellipse(hole, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return _known(hole)


def centre_square_mask(size: int, *, fraction: float = 0.05) -> Tensor:
    """``known`` (1, 1, size, size): one square hole of ``fraction`` of the area in the centre."""
    _check_fraction(fraction)
    side = round(size * fraction**0.5)
    hole = np.zeros((size, size), np.uint8)
    top = (size - side) // 2
    hole[top : top + side, top : top + side] = 1
    return _known(hole)


def _check_fraction(fraction: float) -> None:
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
