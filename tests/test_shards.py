"""Units of work: seeds from identity, shares that cover a sweep once, parts that merge or say what is wrong."""

import os
import shutil
import subprocess
import sys

import pytest
import torch

from inpaint.shards import Shard, config_hash, read_parts, unit_seed, write_part


def test_unit_seed_is_the_same_in_another_process():
    code = "from inpaint.shards import unit_seed; print(unit_seed(0, 'cork.png', 'diffusion', 3))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "123"})
    assert int(other.stdout) == unit_seed(0, "cork.png", "diffusion", 3)
    assert unit_seed(0, "cork.png", "diffusion", 3) != unit_seed(0, "cork.png", "diffusion", 4)
    assert 0 <= unit_seed("anything") < 2**32


@pytest.mark.parametrize("units", [0, 1, 2, 7, 8, 36])
@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_the_shares_cover_every_unit_once_in_order(units, count):
    items = list(range(units))
    shares = [Shard(i, count).take(items) for i in range(1, count + 1)]
    assert [u for share in shares for u in share] == items  # concatenated in shard order: the single run's order
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_parse_and_name():
    assert Shard.parse(" 2/3 ") == Shard(2, 3)
    assert (str(Shard(2, 3)), Shard(2, 3).name, Shard().whole) == ("2/3", "shard-2-of-3", True)


@pytest.mark.parametrize("text, message", [
    ("4/3", "out of range: the index must be in 1..3"),
    ("0/3", "out of range"),
    ("1/0", "number of shards must be >= 1"),
    ("2", "written i/n"),
    ("a/b", "written i/n"),
    ("1/2/3", "written i/n"),
])
def test_bad_shards_say_what_is_expected(text, message):
    with pytest.raises(ValueError, match=message):
        Shard.parse(text)


def test_config_hash_ignores_key_order_and_sees_values():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


CONFIG = {"seed": 0, "train": {"steps": 20}}


def write_sweep(folder, count=3, config=CONFIG):
    units = [f"u{i}" for i in range(7)]
    for i in range(1, count + 1):
        shard = Shard(i, count)
        mine = shard.take(units)
        write_part(folder, shard, config, mine, {"rows": [{"unit": u, "value": float(i)} for u in mine]},
                   {"x": torch.full((2,), float(i))})
    return units


def test_parts_come_back_in_shard_order_with_their_tensors(tmp_path):
    units = write_sweep(tmp_path)
    parts = read_parts(tmp_path)
    assert [p["shard"] for p in parts] == [Shard(1, 3), Shard(2, 3), Shard(3, 3)]
    assert [r["unit"] for p in parts for r in p["rows"]] == units
    assert torch.equal(parts[2]["tensors"]["x"], torch.full((2,), 3.0))
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file and a rename


def test_a_missing_shard_is_named(tmp_path):
    write_sweep(tmp_path)
    (tmp_path / "shard-2-of-3.json").unlink()
    with pytest.raises(ValueError, match=r"lacks shard 2/3 of 3: run --shard 2/3"):
        read_parts(tmp_path)


def test_a_duplicated_shard_is_named(tmp_path):
    write_sweep(tmp_path)
    shutil.copy(tmp_path / "shard-2-of-3.json", tmp_path / "shard-2-of-3 (copy).json")
    with pytest.raises(ValueError, match=r"shard 2/3 is duplicated: in shard-2-of-3 \(copy\).json and in "
                                         r"shard-2-of-3.json"):
        read_parts(tmp_path)


def test_a_duplicated_unit_is_named(tmp_path):
    write_sweep(tmp_path, count=2)
    write_part(tmp_path, Shard(2, 2), CONFIG, ["u0", "u6"], {"rows": []})  # u0 is shard 1's
    with pytest.raises(ValueError, match="unit u0 is duplicated: in shard-1-of-2.json and in shard-2-of-2.json"):
        read_parts(tmp_path)


def test_parts_of_different_configurations_name_both_and_what_differs(tmp_path):
    write_sweep(tmp_path)
    write_part(tmp_path, Shard(3, 3), {"seed": 0, "train": {"steps": 40}}, ["u5", "u6"], {"rows": []})
    with pytest.raises(ValueError, match=r"shard-1-of-3.json and shard-3-of-3.json come from different "
                                         r"configurations .*differ in train.steps"):
        read_parts(tmp_path)


def test_parts_of_different_splits_are_refused(tmp_path):
    write_sweep(tmp_path, count=2)
    write_part(tmp_path, Shard(3, 3), CONFIG, ["u6"], {"rows": []})
    with pytest.raises(ValueError, match="parts of different splits"):
        read_parts(tmp_path)


def test_no_parts_or_a_stray_file(tmp_path):
    with pytest.raises(ValueError, match="no parts in"):
        read_parts(tmp_path)
    (tmp_path / "notes.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="notes.json is not a part"):
        read_parts(tmp_path)


def test_the_one_atomic_writer_leaves_nothing_behind_when_a_write_fails(tmp_path):
    from inpaint.atomic import write_atomic

    target = tmp_path / "part.json"
    target.write_bytes(b"old")

    def fail(f):
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, fail)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["part.json"]
    write_atomic(tmp_path / "new" / "x.bin", lambda f: f.write(b"new"))
    assert (tmp_path / "new" / "x.bin").read_bytes() == b"new"
