"""Contracts of the mask generators, training masks and family specs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inpaint.masks import (
    DEFAULT_TRAINING_FAMILIES, FAMILIES, box_mask, expand_mask, freeform_mask, half_mask, hole_fraction, lama_mask,
    lines_mask, parse_families, sr2x_mask, training_masks,
)

RANDOM_FAMILIES = ["box", "freeform", "thin", "medium", "thick", "wide", "narrow"]
PATTERN_FAMILIES = ["sr2x", "lines", "half"]  # random phase or side; expand is fixed


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def has_hole_and_known(known: torch.Tensor) -> bool:
    holes = (~known).flatten(1).sum(1)
    return bool(((holes > 0) & (holes < known[0].numel())).all())


# --- generators ---------------------------------------------------------------------------


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("size", [(64, 64), (37, 50)])
def test_shape_dtype_and_same_seed_same_masks(family, size):
    g1, g2 = gen(7), gen(7)
    first = torch.cat([FAMILIES[family](*size, generator=g1) for _ in range(5)])
    second = torch.cat([FAMILIES[family](*size, generator=g2) for _ in range(5)])
    assert first.shape == (5, 1, *size) and first.dtype == torch.bool and first.device.type == "cpu"
    assert torch.equal(first, second)
    assert has_hole_and_known(first)


@pytest.mark.parametrize("family", RANDOM_FAMILIES)
def test_different_seeds_differ(family):
    a = torch.cat([FAMILIES[family](64, 64, generator=gen(0)) for _ in range(3)])
    b = torch.cat([FAMILIES[family](64, 64, generator=gen(1)) for _ in range(3)])
    assert not torch.equal(a, b)


@pytest.mark.parametrize("family", PATTERN_FAMILIES)
def test_patterns_vary_with_seed(family):
    distinct = {FAMILIES[family](16, 16, generator=gen(s)).numpy().tobytes() for s in range(20)}
    assert len(distinct) > 1


@pytest.mark.parametrize("family", list(FAMILIES))
def test_hole_fraction_in_stated_range_over_200_draws(family):
    lo, hi = FAMILIES[family].hole_range
    g = gen(11)
    batches = [training_masks(200, 64, 64, generator=g, families=family),  # the fast path
               torch.cat([FAMILIES[family](128, 128, generator=g) for _ in range(20)])]  # the public path
    for known in batches:
        frac = hole_fraction(known)
        assert lo <= frac.min().item() and frac.max().item() <= hi, (family, frac.min(), frac.max())
        assert has_hole_and_known(known)


def test_odd_and_small_sizes_keep_hole_and_known_pixels():
    g = gen(5)
    for h, w in [(8, 8), (9, 9), (8, 31), (33, 17)]:
        for name, family in FAMILIES.items():
            known = torch.cat([family(h, w, generator=g) for _ in range(10)])
            assert has_hole_and_known(known), (name, h, w)
            if name != "expand" or h == w:
                frac = hole_fraction(known)
                assert family.hole_range[0] <= frac.min() and frac.max() <= family.hole_range[1], (name, h, w)


def test_patterns_are_the_repaint_masks():
    g = gen(0)
    sr = sr2x_mask(8, 8, generator=g, offset=(1, 0))[0, 0]
    assert sr[1::2, 0::2].all() and sr.sum() == 16
    lines = lines_mask(8, 8, generator=g, phase=0)[0, 0]
    assert not lines[0::2].any() and lines[1::2].all()
    half = half_mask(8, 10, generator=g, side="left")[0, 0]
    assert half[:, :5].all() and not half[:, 5:].any()
    expand = expand_mask(64, 64, generator=g)[0, 0]
    assert expand[24:40, 24:40].all() and expand.sum() == 256


def test_box_area_and_count_options():
    known = torch.cat([box_mask(64, 64, generator=gen(s), count=(1, 1), area=(0.2, 0.25)) for s in range(20)])
    frac = hole_fraction(known)
    assert frac.min() >= 0.2 and frac.max() <= 0.25


def test_lama_widths_scale_with_the_image():
    # thin strokes at 64 px are about a quarter as wide as at 256 px, so cover less area
    small = hole_fraction(torch.cat([lama_mask(64, 64, generator=gen(s), strokes=(4, 4), box_proba=0.0,
                                               max_width=10, max_len=40) for s in range(40)])).mean()
    large = hole_fraction(torch.cat([lama_mask(256, 256, generator=gen(s), strokes=(4, 4), box_proba=0.0,
                                               max_width=10, max_len=40) for s in range(40)])).mean()
    assert abs(small - large) < 0.5 * large


def test_generators_leave_global_random_state_alone():
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    for family in FAMILIES.values():
        family(32, 32, generator=gen(0))
    training_masks(8, 32, 32, generator=gen(0))
    assert torch.equal(torch_state, torch.get_rng_state())
    assert all(np.array_equal(a, b) for a, b in zip(np_state[1:2], np.random.get_state()[1:2]))


@pytest.mark.parametrize("call, match", [
    (lambda: box_mask(4, 64, generator=gen(0)), "height"),
    (lambda: box_mask(64, 64, generator=0), "torch.Generator"),
    (lambda: box_mask(64, 64, generator=gen(0), area=(0.5, 0.2)), "area"),
    (lambda: box_mask(64, 64, generator=gen(0), count=(0, 2)), "count"),
    (lambda: freeform_mask(64, 64, generator=gen(0), vertices=(4.5, 6)), "vertices"),
    (lambda: lama_mask(64, 64, generator=gen(0), max_area=1.5), "max_area"),
    (lambda: lama_mask(64, 64, generator=gen(0), max_width=0), "max_width"),
    (lambda: sr2x_mask(64, 64, generator=gen(0), offset=(2, 0)), "offset"),
    (lambda: lines_mask(64, 64, generator=gen(0), axis="diagonal"), "axis"),
    (lambda: half_mask(64, 64, generator=gen(0), side="middle"), "side"),
    (lambda: expand_mask(64, 64, generator=gen(0), known_side=1.0), "known_side"),
    (lambda: box_mask(64, 64, generator=gen(0), area=(0.9, 0.95), count=(1, 1), aspect=(8.0, 8.0)), "draws"),
])
def test_bad_options_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- training masks ---------------------------------------------------------------------------


def test_training_masks_shape_dtype_and_reproducibility():
    a = training_masks(16, 64, 48, generator=gen(0))
    b = training_masks(16, 64, 48, generator=gen(0))
    c = training_masks(16, 64, 48, generator=gen(1))
    assert a.shape == (16, 1, 64, 48) and a.dtype == torch.bool
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert has_hole_and_known(a)


def test_training_masks_follow_the_weights():
    g = gen(2)
    only = training_masks(20, 32, 32, generator=g, families={"expand": 1.0, "box": 0.0})
    assert torch.allclose(hole_fraction(only), torch.full((20,), 1 - 64 / 1024, dtype=torch.float64))
    mix = hole_fraction(training_masks(400, 32, 32, generator=g, families="expand:0.7,lines:0.3"))
    share = (mix > 0.9).double().mean().item()
    assert abs(share - 0.7) < 0.08
    assert set(DEFAULT_TRAINING_FAMILIES) == {"freeform", "box"}
    default = hole_fraction(training_masks(200, 64, 64, generator=g))
    assert 0.05 < default.mean() < 0.5


def test_training_masks_bad_arguments():
    with pytest.raises(ValueError, match="n must be"):
        training_masks(0, 64, 64, generator=gen(0))
    with pytest.raises(ValueError, match="valid: box"):
        training_masks(4, 64, 64, generator=gen(0), families={"blob": 1.0})
    with pytest.raises(ValueError, match="not all be 0"):
        training_masks(4, 64, 64, generator=gen(0), families={"box": 0.0})
    with pytest.raises(ValueError, match="height"):
        training_masks(4, 2, 64, generator=gen(0))


def test_parse_families():
    assert parse_families("thick,box") == {"thick": 0.5, "box": 0.5}
    assert parse_families(" thick:0.7 , box:0.3 ") == pytest.approx({"thick": 0.7, "box": 0.3})
    assert parse_families("thick:3,box:1") == {"thick": 0.75, "box": 0.25}
    assert parse_families("default") == dict(DEFAULT_TRAINING_FAMILIES)


@pytest.mark.parametrize("spec, match", [
    ("thick,blob", "unknown mask family 'blob'.*valid: box, freeform, thin"),
    ("thick:0.7,box", "every family or to none"),
    ("thick:abc", "not a number"),
    ("thick:-1", ">= 0"),
    ("thick:0,box:0", "not all be 0"),
    ("thick,thick", "twice"),
    ("", "non-empty"),
    ("thick,", "unknown mask family ''"),
])
def test_parse_families_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_families(spec)


def test_the_restore_benchmarks_holes_are_seeded_and_cover_their_fraction():
    from inpaint.masks import centre_square_mask, scattered_ellipses_mask

    a = scattered_ellipses_mask(256, seed=3)
    assert a.shape == (1, 1, 256, 256) and a.dtype == torch.bool
    assert torch.equal(a, scattered_ellipses_mask(256, seed=3)) and not torch.equal(a, scattered_ellipses_mask(256, seed=4))
    assert 0.05 <= hole_fraction(a).item() < 0.1
    square = centre_square_mask(100, fraction=0.04)
    assert hole_fraction(square).item() == pytest.approx(0.04) and not square[0, 0, 50, 50]
    with pytest.raises(ValueError, match="fraction"):
        centre_square_mask(100, fraction=1.5)
