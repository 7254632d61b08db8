"""Dataset cards: every per-dataset setting in one small YAML file, read by one generic loader.

A card (``grnbench/data/cards/<id>.yaml`` for the built-in datasets; any file for your own
data) holds::

    id: hhep                       # dataset id (lower case, digits, _ and -)
    kind: dataset                  # or "prior" (a prior network card)
    description: ...
    organism: human                # human | mouse | ...
    gene_ids: symbol               # kind of gene identifier in var_names (symbol, ensembl, uniprot)
    sources:                       # files, each checked against its sha256 on every load
      - {relpath: ..., url: ..., sha256: ...}           # public file (mirror -> cache -> download)
      - {package: scanpy, member: ..., sha256: ...}     # file inside an installed package
      - {path: /abs/or/relative.h5ad, sha256: ...}      # a local file (your own data)
    format: h5ad                   # reader: h5ad | csv_genes_by_cells | rda | ... (see FORMATS)
    reader: {...}                  # options of the reader
    layer: null                    # matrix to use: .X (null), "raw" (.raw.X) or a layer name
    scale: log1p                   # what that matrix holds: counts | linear | log1p | log | none
    obs: {new_name: file_column}   # obs columns kept (and renamed); all columns if absent
    label_key: cell_type           # obs column with cell-type labels (cell_type_markers)
    ood: {obs_key: stage, test: [mh1, mh2], train: [...]}   # the held-out group of 'ood' splits
    prior: collectri               # the prior network the dataset pairs with
    explain_genes: [ALB, AFP]      # targets explained with SHAP (and always kept)
    tasks: {cell_type_markers: {caps: [15, 40, 20, 200]}}   # task-specific settings
    citation: ...
    licence: ...

Scales: ``counts`` are normalised to 10,000 per cell and log1p-transformed with scanpy;
``linear`` (TPM, RPKM, CP10k) gets log1p; ``log1p`` and ``log`` are used as they are;
``none`` is not expression (no check of the value range).

Cards found in the folders or files listed in ``$GRNBENCH_CARDS`` (separated by ``:``) are
registered next to the built-in ones, so papermill kernels started by the runner see a
user's dataset by its id.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from ..errors import DataValidationError, format_names
from .sources import LocalFile, PackageFile, RemoteFile, Source, WheelMember

__all__ = ["CARD_KEYS", "SCALES", "FORMATS", "register_format", "parse_card", "read_card", "register_card",
           "register_card_file",
           "register_builtin_cards", "register_env_cards", "write_card", "CARDS_ENV"]

CARDS_ENV = "GRNBENCH_CARDS"
#: Every key a dataset card may have.
CARD_KEYS = ("id", "kind", "description", "organism", "gene_ids", "embedded", "sources", "format", "reader", "layer",
             "scale", "scale_note", "obs", "label_key", "ood", "prior", "explain_genes", "tasks", "citation", "licence")
#: Keys of a prior card.
PRIOR_CARD_KEYS = ("id", "kind", "description", "organism", "gene_ids", "sources", "format", "citation", "licence")
#: Accepted values of ``scale``.
SCALES = ("counts", "linear", "log1p", "log", "none")
#: Reader name -> ``reader(paths: dict[str, Path], spec, **options) -> AnnData`` (see :mod:`.datasets`).
FORMATS: dict[str, Callable] = {}
_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


def register_format(name: str) -> Callable:
    """Register a reader of a card ``format`` (decorator)."""

    def deco(func: Callable) -> Callable:
        FORMATS[name] = func
        return func

    return deco


def _source(entry: dict, where: str, base: Path | None) -> Source:
    if not isinstance(entry, dict):
        raise DataValidationError(f"{where}: each source must be a mapping, got {entry!r}")
    keys = set(entry) - {"name"}
    try:
        if {"relpath", "url", "sha256"} <= keys:
            return RemoteFile(relpath=entry["relpath"], url=entry["url"], sha256=entry["sha256"])
        if {"package", "member", "sha256"} <= keys:
            return PackageFile(package=entry["package"], member=entry["member"], sha256=entry["sha256"],
                               url=entry.get("url", ""))
        if {"requirement", "wheel", "wheel_sha256", "member", "sha256"} <= keys:
            return WheelMember(**{k: entry[k] for k in ("requirement", "wheel", "wheel_sha256", "member", "sha256")},
                               url=entry.get("url", ""))
        if {"path", "sha256"} <= keys:
            path = Path(entry["path"]).expanduser()
            if not path.is_absolute() and base is not None:
                path = base / path
            return LocalFile(path=str(path), sha256=entry["sha256"])
    except TypeError as exc:
        raise DataValidationError(f"{where}: bad source {entry!r} ({exc})") from None
    raise DataValidationError(
        f"{where}: a source needs (relpath, url, sha256), (package, member, sha256), (path, sha256) or a wheel "
        f"member; got keys {format_names(sorted(keys))}")


def parse_card(card: dict, origin: str, base: Path | None = None):
    """Turn a card mapping into a registered-dataset spec (:class:`grnbench.registry.DatasetSpec`).

    Parameters
    ----------
    card : dict
        The card's keys (see the module docstring).
    origin : str
        Where the card comes from (file name), for error messages.
    base : pathlib.Path, optional
        Folder that relative ``path`` sources are resolved against (the card's folder).

    Raises
    ------
    grnbench.errors.DataValidationError
        On an unknown key, a missing id, source or format, a bad id, scale or ``ood`` rule;
        the message names the card and the key.
    """
    from ..registry import DatasetSpec

    if not isinstance(card, dict):
        raise DataValidationError(f"card {origin}: expected a mapping of keys, got {type(card).__name__}")
    kind = card.get("kind", "dataset")
    allowed = CARD_KEYS if kind == "dataset" else PRIOR_CARD_KEYS if kind == "prior" else None
    if allowed is None:
        raise DataValidationError(f"card {origin}: key 'kind' must be 'dataset' or 'prior', got {kind!r}")
    unknown = sorted(set(card) - set(allowed))
    if unknown:
        raise DataValidationError(f"card {origin}: unknown key(s) {format_names(unknown)}; "
                                  f"allowed: {', '.join(allowed)}")
    for key in ("id", "sources", "format"):
        if not card.get(key):
            raise DataValidationError(f"card {origin}: key {key!r} is missing or empty")
    cid = str(card["id"])
    if not _ID.match(cid):
        raise DataValidationError(f"card {origin}: id {cid!r} must be lower case letters, digits, '_' or '-'")
    scale = card.get("scale", "log1p")
    if kind == "dataset" and scale not in SCALES:
        raise DataValidationError(f"card {origin}: scale {scale!r} is not one of {', '.join(SCALES)}")
    ood = card.get("ood")
    if ood is not None:
        if not isinstance(ood, dict) or "obs_key" not in ood or not ood.get("test"):
            raise DataValidationError(f"card {origin}: ood must be {{obs_key: column, test: [values]}}, got {ood!r}")
        ood = {"obs_key": str(ood["obs_key"]), "test": [str(v) for v in ood["test"]],
               **({"train": [str(v) for v in ood["train"]]} if ood.get("train") else {})}
    sources = card["sources"]
    if not isinstance(sources, list):
        raise DataValidationError(f"card {origin}: 'sources' must be a list")
    parsed = tuple(_source(e, f"card {origin}", base) for e in sources)
    names = tuple(str(e.get("name", i)) for i, e in enumerate(sources))
    meta = dict(
        id=cid,
        description=str(card.get("description", "")),
        organism=str(card.get("organism", "human")),
        gene_ids=str(card.get("gene_ids", "symbol")),
        embedded=bool(card.get("embedded", False)),
        sources=parsed,
        source_names=names,
        format=str(card["format"]),
        reader=dict(card.get("reader") or {}),
        citation=str(card.get("citation", "")),
        licence=str(card.get("licence", "")),
        card=origin,
    )
    if kind == "dataset":
        meta.update(layer=card.get("layer"), scale=scale, scale_note=str(card.get("scale_note", "")),
                    obs=dict(card.get("obs") or {}), label_key=card.get("label_key"), ood=ood,
                    prior=card.get("prior"), explain_genes=tuple(card.get("explain_genes") or ()),
                    tasks=dict(card.get("tasks") or {}))
    return kind, DatasetSpec(loader=None, **meta)


def read_card(path: str | os.PathLike):
    """Read and parse one card file; returns ``(kind, DatasetSpec)``.

    Raises
    ------
    grnbench.errors.DataValidationError
        If the file is missing, is not YAML, or breaks the card schema (the message names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"card {path}: file not found")
    try:
        card = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"card {path}: not a readable YAML file ({exc})") from None
    return parse_card(card, str(path), base=path.parent)


def register_card_file(path: str | os.PathLike, *, replace: bool = False) -> str:
    """Register the dataset or prior of a card file; returns its id.

    Parameters
    ----------
    path : path-like
        The card.
    replace : bool
        Replace an entry already registered under the same id by another card file (a user's
        card read twice); a built-in id is never replaced.

    Raises
    ------
    grnbench.errors.DataValidationError
        For a bad card, or an id that a built-in dataset or prior already uses.
    """
    return _register(*read_card(path), replace=replace)


def register_card(card: dict, origin: str, *, base: Path | None = None, replace: bool = False) -> str:
    """Register a card given as a mapping (validated like a file); returns its id.

    Raises
    ------
    grnbench.errors.DataValidationError
        For a bad card or an id already used by a built-in dataset or prior.
    """
    return _register(*parse_card(card, origin, base=base), replace=replace)


def _register(kind: str, spec, *, replace: bool) -> str:
    from ..registry import add_dataset, add_prior

    def builtin(old) -> bool:
        return not old.card or Path(old.card).parent == Path(__file__).with_name("cards")

    try:
        (add_dataset if kind == "dataset" else add_prior)(spec, replace=replace, is_builtin=builtin)
    except ValueError as exc:
        raise DataValidationError(str(exc)) from None
    return spec.id


def register_builtin_cards() -> list[str]:
    """Register every card shipped in ``grnbench/data/cards/`` (sorted by file name)."""
    folder = Path(__file__).with_name("cards")
    return [register_card_file(p) for p in sorted(folder.glob("*.yaml"))]


def register_env_cards() -> list[str]:
    """Register the cards of ``$GRNBENCH_CARDS`` (files, or folders of ``*.yaml``, separated by ``:``).

    Raises
    ------
    grnbench.errors.DataValidationError
        If a listed path does not exist or a card is bad.
    """
    out = []
    for entry in filter(None, os.environ.get(CARDS_ENV, "").split(os.pathsep)):
        path = Path(entry)
        if path.is_dir():
            out += [register_card_file(p, replace=True) for p in sorted(path.glob("*.yaml"))]
        elif path.is_file():
            out.append(register_card_file(path, replace=True))
        else:
            raise DataValidationError(f"{CARDS_ENV} lists {path}, which does not exist")
    return out


def write_card(card: dict, path: str | os.PathLike) -> Path:
    """Validate a card mapping and write it as YAML (atomically).

    Raises
    ------
    grnbench.errors.DataValidationError
        If the card breaks the schema.
    """
    from ..results import _atomic_write

    path = Path(path)
    parse_card(card, str(path), base=path.parent)
    text = "# grnbench dataset card (see grnbench.data.cards)\n" + yaml.safe_dump(card, sort_keys=False,
                                                                                   allow_unicode=True)
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path
