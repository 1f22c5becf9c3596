"""Rebuild the texture-prior pre-training corpus from Debian bookworm .deb packages.

    python experiments/prior_corpus.py --debs DIR --out runs/prior-corpus \
        [--manifest experiments/prior_corpus.json]

The corpus (see experiments/prior_corpus.md) is a few dozen free, photo-like
colour textures (stone, sand, grass, wood, metal, ...) taken from game and
graphics data packages.  The committed manifest lists every image: the package
and version it comes from, the path inside the package (``archive::member``
for files inside a .pk3 / .jar zip), an optional centre-crop box and the
sha256 of the PNG that must come out.

For each package named in the manifest this script finds
``<package>_<version>_all.deb`` in --debs (the version's epoch ``N:`` is spelt
``N%3a`` in the file name, as ``apt-get download`` writes it), extracts it with
``dpkg-deb -x`` into a temporary folder, reads each source file (zip members
with :mod:`zipfile`), converts it to RGB with Pillow, applies the recorded
crop, writes a PNG into --out and checks its sha256 against the manifest.
Missing packages are reported with the ``apt-get download`` line that fetches
them.  The exit status is 0 only if every file was written and matched.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

from PIL import Image

DEFAULT_MANIFEST = Path(__file__).with_name("prior_corpus.json")
MAX_SIDE = 1024  # larger images are centre-cropped to at most this, never resized


def deb_name(package: str, version: str) -> str:
    """The file name ``apt-get download`` gives to ``package=version``."""
    return f"{package}_{version.replace(':', '%3a')}_all.deb"


def centre_crop_box(width: int, height: int, limit: int = MAX_SIDE) -> list[int] | None:
    """The centre crop of at most limit x limit, or None if the image already fits."""
    if width <= limit and height <= limit:
        return None
    w, h = min(width, limit), min(height, limit)
    left, top = (width - w) // 2, (height - h) // 2
    return [left, top, left + w, top + h]


def read_source(root: Path, source: str) -> Image.Image:
    """Open ``source`` (a package path, or ``archive::member``) below root."""
    path, _, member = source.partition("::")
    file = root / path.lstrip("/")
    if not member:
        return Image.open(file)
    with zipfile.ZipFile(file) as archive:
        return Image.open(io.BytesIO(archive.read(member)))


def convert(image: Image.Image, crop: list[int] | None) -> Image.Image:
    """RGB conversion followed by the recorded crop box (left, top, right, bottom)."""
    rgb = image.convert("RGB")
    return rgb.crop(tuple(crop)) if crop else rgb


def write_png(image: Image.Image, path: Path) -> str:
    """Save image losslessly as PNG and return the sha256 of the written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extract(deb: Path, dest: Path) -> None:
    """Unpack the data part of a .deb with dpkg-deb."""
    subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)


def rebuild(entries: list[dict], debs: Path, out: Path) -> tuple[int, list[str], list[str]]:
    """Write every manifest entry into out; return (matched, mismatched files, missing debs)."""
    by_package: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for entry in entries:
        by_package[(entry["package"], entry["version"])].append(entry)

    matched, mismatched, missing = 0, [], []
    for (package, version), items in sorted(by_package.items()):
        deb = debs / deb_name(package, version)
        if not deb.is_file():
            missing.append(f"{package}={version}")
            continue
        with tempfile.TemporaryDirectory(prefix=f"prior-{package}-") as tmp:
            root = Path(tmp)
            extract(deb, root)
            for entry in items:
                image = convert(read_source(root, entry["source"]), entry["crop"])
                digest = write_png(image, out / entry["file"])
                if digest == entry["sha256"]:
                    matched += 1
                else:
                    mismatched.append(entry["file"])
        print(f"{package} {version}: {len(items)} file(s)")
    return matched, mismatched, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--debs", type=Path, required=True, help="folder holding the .deb files")
    parser.add_argument("--out", type=Path, default=Path("runs/prior-corpus"), help="output folder")
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST, help="corpus manifest (JSON)")
    args = parser.parse_args(argv)

    entries = json.loads(args.manifest.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    matched, mismatched, missing = rebuild(entries, args.debs, args.out)
    (args.out / "manifest.json").write_text(json.dumps(entries, indent=1) + "\n")

    print(f"{matched}/{len(entries)} images written to {args.out} with matching sha256")
    for name in mismatched:
        print(f"sha256 MISMATCH: {name}", file=sys.stderr)
    if missing:
        print("missing packages; fetch them into --debs with:", file=sys.stderr)
        print(f"  (cd {args.debs} && apt-get download {' '.join(missing)})", file=sys.stderr)
    return 0 if matched == len(entries) else 1


if __name__ == "__main__":
    sys.exit(main())
