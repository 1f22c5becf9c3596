"""The package's shape: no private name used outside its module, and no import cycle (issue: one shape per
concept).  Read from the source with ``ast``, so the checks cover imports inside functions too."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "inpaint"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, names taken from it) of every import statement in ``path``, absolute."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            out.append((target, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
    return [(t, names) for t, names in out if t == "inpaint" or t.startswith("inpaint.")]


FILES = sorted(PACKAGE.rglob("*.py"))
MODULES = {_module(p) for p in FILES}


def test_no_private_name_is_imported_from_another_module():
    crossings = [f"{_module(p)} imports {name} from {target}" for p in FILES for target, names in _imports(p)
                 for name in names if name.startswith("_") and not name.startswith("__")]
    assert not crossings, crossings


def test_no_private_attribute_of_another_inpaint_module_is_read():
    found = []
    for p in FILES:
        tree = ast.parse(p.read_text())
        aliases = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                   for a in node.names if f"{node.module}.{a.name}".lstrip(".") in {m.split(".", 1)[-1] for m in MODULES}}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in aliases):
                found.append(f"{_module(p)} reads {node.value.id}.{node.attr}")
    assert not found, found


def test_the_package_has_no_import_cycle():
    graph = {}
    for p in FILES:
        targets = set()
        for target, names in _imports(p):
            subs = {f"{target}.{n}" for n in names} & MODULES  # "from . import x" imports module x
            targets |= subs or ({target} & MODULES)
        graph[_module(p)] = targets - {_module(p)}
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + ".") or node.startswith(nxt + ".") and nxt == "inpaint":
                continue  # a package and its own __init__
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles


def test_every_module_is_listed_once_as_public_or_internal():
    import inpaint

    modules = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("__")}
    modules |= {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    listed = [*inpaint.PUBLIC_MODULES, *inpaint.INTERNAL_MODULES]
    assert len(listed) == len(set(listed)) and set(listed) == modules, set(listed) ^ modules
