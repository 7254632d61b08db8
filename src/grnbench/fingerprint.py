"""Content fingerprints of code, notebooks, parameters and files: what decides whether work is current.

Two consumers use the same functions:

* the runner (:mod:`grnbench.stages`) fingerprints a *stage*: its notebook template, parameters,
  cards, the code it depends on and the outputs of earlier stages (:func:`stage_components`);
* the engine (:mod:`grnbench.engine`) keys a *unit* (one fit) by the code of its model and task
  (:func:`code_hash` over :func:`module_closure`), next to its data, split, parameters and seed.

Code is hashed per module as the AST without docstrings (comments are not in the AST), so editing
prose leaves every fingerprint unchanged. Dependencies are the closure of the static import graph
inside ``grnbench``.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

#: Bookkeeping modules (scheduling, unit store, fingerprints, paths): they decide where and when work runs,
#: never its numbers or figures, so no stage fingerprint includes them.
BOOKKEEPING = ("grnbench.compute", "grnbench.units", "grnbench.fingerprint", "grnbench.paths")

__all__ = ["BOOKKEEPING", "src_root", "module_file", "module_closure", "module_hash", "code_hash", "file_hash", "json_hash"]


def src_root() -> Path:
    """The folder that holds the ``grnbench`` package (``<project>/src`` in a checkout)."""
    return Path(__file__).resolve().parent.parent


def module_file(name: str, src: Path | None = None) -> Path | None:
    """The source file of module ``name`` under ``src`` (a package's ``__init__.py``), or None."""
    src = src or src_root()
    rel = Path(*name.split("."))
    for cand in (src / rel.with_suffix(".py"), src / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """``grnbench`` modules that a module (or notebook code) imports anywhere in its body.

    Parameters
    ----------
    tree : ast.AST
        Parsed source.
    module : str
        Dotted name of the module the source belongs to (resolves relative imports).
    is_package : bool
        True for a package's ``__init__.py``.
    """
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "grnbench"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                base = parts if is_package else parts[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] != "grnbench":
                continue
            out.add(name)
            out |= {f"{name}.{a.name}" for a in node.names}  # `from pkg import submodule`
    return out


def module_closure(start: Iterable[str], src: Path | None = None, *, exclude: Iterable[str] = (),
                   expand: dict | None = None) -> list[str]:
    """The ``grnbench`` modules reachable from ``start`` through static imports (sorted).

    Importing a module also runs its parent packages' ``__init__``, so parents are included.

    Parameters
    ----------
    start : iterable of str
        Dotted module names.
    src : pathlib.Path, optional
        Folder holding the ``grnbench`` package (default :func:`src_root`).
    exclude : iterable of str
        Modules neither included nor followed (e.g. the engine's scheduling code for unit keys).
    expand : dict, optional
        ``module -> extra modules`` it depends on without a static import (e.g. the registry's
        data modules, imported by name).
    """
    src = src or src_root()
    exclude, expand = set(exclude), expand or {}
    todo, seen = set(start), {}
    while todo:
        name = todo.pop()
        if name in seen or name in exclude:
            continue
        path = module_file(name, src)
        if path is None:
            continue
        seen[name] = path
        parts = name.split(".")
        todo |= {".".join(parts[:k]) for k in range(1, len(parts))}
        todo |= imports(ast.parse(path.read_text()), name, path.name == "__init__.py")
        todo |= set(expand.get(name, ()))
    return sorted(seen)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


@functools.lru_cache(maxsize=512)
def _source_hash(path: str, mtime_ns: int) -> str:
    tree = _strip_docstrings(ast.parse(Path(path).read_text()))
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def module_hash(name: str, src: Path | None = None) -> str:
    """sha256 of one module's code without docstrings and comments (hex)."""
    path = module_file(name, src)
    if path is None:
        raise FileNotFoundError(f"module {name!r} not found under {src or src_root()}")
    return _source_hash(str(path), path.stat().st_mtime_ns)


def code_hash(modules: Iterable[str], src: Path | None = None) -> str:
    """One sha256 over the named modules' docstring-free code (order-independent)."""
    h = hashlib.sha256()
    for name in sorted(modules):
        h.update(name.encode())
        h.update(module_hash(name, src).encode())
    return h.hexdigest()


def file_hash(path: str | Path) -> str:
    """sha256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def json_hash(value) -> str:
    """sha256 of a JSON-serialisable value with sorted keys (hex)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


# -- stages ------------------------------------------------------------------------------


def _shipped_data_files(src: Path) -> list[Path]:
    """Shipped cards and file tables (``grnbench/data/**/*.yaml|tsv``): data the loaders read."""
    return sorted(p for p in (src / "grnbench" / "data").rglob("*") if p.is_file() and p.suffix in (".yaml", ".tsv"))


def stage_modules(stage, root: Path) -> list[str]:
    """The ``grnbench`` modules a stage's notebook depends on (sorted).

    The closure of the static import graph from the notebook's own imports and, for a stage of
    a task, the task package (its ``api``, ``models`` and ``metrics``, which the registry imports
    by name). The registry's loader (:mod:`grnbench.catalog`) and its data modules count wherever the
    registry does; the
    :data:`BOOKKEEPING` modules never do.

    Parameters
    ----------
    stage : grnbench.study.Stage
    root : pathlib.Path
        Project root (its ``src/`` holds the package).
    """
    import nbformat

    from .catalog import DATA_MODULES
    from .tasks import TASKS

    nb = nbformat.read(stage.notebook, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    try:
        start = imports(ast.parse(code), "notebook", False)
    except SyntaxError:
        start = set()
    if stage.task in TASKS:
        start |= {f"{TASKS[stage.task]}.{m}" for m in ("api", "models", "metrics")}
    return module_closure(start, root / "src", exclude=BOOKKEEPING,
                          expand={"grnbench.registry": ("grnbench.catalog",), "grnbench.catalog": DATA_MODULES})


def stage_components(stage, results_dir: Path, upstream: list, cards: list[Path], root: Path) -> dict:
    """Everything a stage's results depend on, each hashed on its own.

    Returns
    -------
    dict
        ``notebook`` (template bytes), ``parameters`` (JSON), ``cards`` (``path -> sha256``),
        ``code`` (``module or shipped data file -> sha256``; modules without docstrings) and
        ``upstream`` (``output path -> sha256`` of the outputs that exist of the earlier stages
        of the same task; of every earlier stage for a stage without a task, e.g. the scoreboard).
        The location of the data mirror is not part of it: every file is checked against the
        sha256 its card records, and the cards are in ``code``.
    """
    src = root / "src"
    modules = stage_modules(stage, root)
    code = {module_file(m, src).relative_to(src).as_posix(): module_hash(m, src) for m in modules}
    if "grnbench.data.cards" in modules:
        code.update({p.relative_to(src).as_posix(): file_hash(p) for p in _shipped_data_files(src)})
    ups = {}
    for up in [u for u in upstream if stage.task is None or u.task == stage.task]:
        for rel in up.outputs:
            path = Path(results_dir) / rel
            if path.is_file():
                ups[rel] = file_hash(path)
    return {"notebook": file_hash(stage.notebook), "parameters": json_hash(stage.parameters),
            "cards": {str(c): file_hash(c) for c in cards}, "code": code, "upstream": ups}


def components_fingerprint(components: dict) -> str:
    """One sha256 over :func:`stage_components`."""
    return json_hash(components)


def changed_components(old: dict, new: dict) -> list[str]:
    """What differs between two :func:`stage_components` results, in words (empty: nothing)."""
    out = []
    if old.get("notebook") != new.get("notebook"):
        out.append("notebook template")
    if old.get("parameters") != new.get("parameters"):
        out.append("parameters")
    for kind, label in (("code", "code"), ("cards", "card"), ("upstream", "input")):
        a, b = old.get(kind, {}), new.get(kind, {})
        names = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        out += [f"{label} {n}" + (" (new)" if n not in a else " (gone)" if n not in b else "") for n in names]
    return out


def summarise_changes(changes: list[str]) -> str:
    """Group the ``code ...`` and ``input ...`` items of :func:`changed_components` into one clause each."""
    code = [c[len("code "):].removeprefix("grnbench/") for c in changes if c.startswith("code ")]
    inputs = [c[len("input "):] for c in changes if c.startswith("input ")]
    other = [c for c in changes if not c.startswith(("code ", "input "))]
    return "; ".join(other + ([f"code ({len(code)} files): " + ", ".join(code)] if code else [])
                     + ([f"inputs ({len(inputs)} files): " + ", ".join(inputs)] if inputs else []))
