"""MkDocs hook: the experiments' README, their results and the repository's notes on its data join the site
at their paths in the repository, so that relative links resolve and every number keeps its one home
(``experiments/results/``); and the docstrings' Sphinx roles (``:func:`name```) become links to the API pages."""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
SHARED = {
    "experiments/README.md": ROOT / "experiments" / "README.md",
    "data/unseen/SOURCES.md": ROOT / "data" / "unseen" / "SOURCES.md",
    "data/checkpoints/README.md": ROOT / "data" / "checkpoints" / "README.md",
    "ARCHITECTURE.md": ROOT / "ARCHITECTURE.md",
    "data/SOURCES.md": ROOT / "data" / "SOURCES.md",
    "masks/README.md": ROOT / "masks" / "README.md",
    "masks/families.png": ROOT / "masks" / "families.png",
    "masks/hole_fraction.png": ROOT / "masks" / "hole_fraction.png",
    "inpaint/_weights/README.md": ROOT / "inpaint" / "_weights" / "README.md",
    "experiments/prior_corpus.md": ROOT / "experiments" / "prior_corpus.md",
    "experiments/checkpoints/reference-recipe/README.md":
        ROOT / "experiments" / "checkpoints" / "reference-recipe" / "README.md",
}
RESULTS = ROOT / "experiments" / "results"
ROLE = re.compile(r":(?:func|data|class|meth|mod|attr|obj|exc):<code>(~?)([\w.]+)</code>")
"""A Sphinx role as mkdocstrings renders it: the role's name left as text before the code."""
SUFFIXES = {".md", ".png", ".csv", ".json"}


def on_files(files, config):
    files.append(File.generated(config, "index.md", content=front_page()))
    paths = dict(SHARED)
    paths |= {str(p.relative_to(ROOT)): p for p in sorted((ROOT / "data" / "checkpoints").glob("*/MODEL_CARD.md"))}
    for path in sorted(RESULTS.rglob("*")):
        if path.is_file() and path.suffix in SUFFIXES and "parts" not in path.relative_to(RESULTS).parts:
            paths[str(path.relative_to(ROOT))] = path
    for uri, path in paths.items():
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    for folder in sorted({Path(uri).parent for uri in paths if uri.startswith("experiments/results/")}):
        if f"{folder}/index.md" not in paths and f"{folder}/README.md" not in paths:
            files.append(File.generated(config, f"{folder}/index.md", content=listing(folder, paths)))
    return files


def listing(folder: Path, paths: dict) -> str:
    """A page that lists what a results folder holds, so that a link to the folder leads somewhere."""
    names = sorted(Path(uri).relative_to(folder).as_posix() for uri in paths if Path(uri).parent == folder)
    return f"# {folder.as_posix()}\n\n" + "".join(f"- [{n}]({n})\n" for n in names)


def front_page() -> str:
    """The README, the site's front page: its links into docs/ made relative to the site."""
    text = (ROOT / "README.md").read_text()
    return text.replace("](docs/getting-started/)", "](getting-started/restore.md)").replace("](docs/", "](")


def on_page_content(html, page, config, files):
    """Each Sphinx role of a docstring as a cross-reference that mkdocs-autorefs resolves (it runs later, in
    ``on_env``): a dotted name as it is, a bare one in the module of its API page (``api/fill.md``:
    ``inpaint.fill``); one that names nothing the site documents stays plain code."""
    src = Path(page.file.src_uri)
    module = f"inpaint.{src.stem}" if src.parts[0] == "api" and src.stem != "index" else None
    return ROLE.sub(lambda m: role_reference(m[2], short=bool(m[1]), module=module), html)


def role_reference(name: str, *, short: bool, module: str | None) -> str:
    """``<autoref>`` of ``name`` (``short``: shown by its last part, as Sphinx's ``~``), found in ``module``
    when it is not dotted from ``inpaint``."""
    identifier = name if name.startswith("inpaint") or module is None else f"{module}.{name}"
    title = name.rsplit(".", 1)[-1] if short else name
    return f'<autoref identifier="{identifier}" optional><code>{title}</code></autoref>'
