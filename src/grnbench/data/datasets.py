"""Registered expression datasets, each loaded as :class:`anndata.AnnData` from its card.

Every built-in dataset is described by a card (``grnbench/data/cards/<id>.yaml``; see
:mod:`grnbench.data.cards`); :func:`load_dataset` reads any card the same way: fetch and
sha256-check the sources, read them with the card's ``format``, pick the matrix (``layer``),
keep the ``obs`` columns, bring the values to a log scale (``scale``) and validate.

Conventions of every loaded dataset:

* ``.X`` — float32 log-scale expression (cells x genes), the model input; its scale is
  described in ``.uns['scale']``.
* ``.var_names`` — unique gene identifiers of the card's ``gene_ids`` kind (symbols: upper case
  for human).
* ``.obs`` — the card's ``obs`` columns (``cell_type``, ``condition``, ``stage`` where present).
* ``.uns['provenance']`` — dataset id, card, source files (public URL, sha256), citation, licence.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DataValidationError, UnknownIdError, format_names
from ..registry import get_dataset
from .cards import FORMATS, register_builtin_cards, register_format
from .validation import dense, validate_expression

__all__ = ["load_dataset", "read_matrix"]

def _read_old_h5ad(path) -> ad.AnnData:
    """Read an h5ad written by an old anndata (2018-2019 layout) without format warnings.

    anndata converts the old layout on read; its OldFormatWarning/FutureWarning messages say
    so and are not actionable for these pinned, checksummed files.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", ad.OldFormatWarning)
        return ad.read_h5ad(path)



def load_dataset(id: str) -> ad.AnnData:
    """Load a registered dataset through its card.

    Parameters
    ----------
    id : str
        Dataset id (``pbmc68k_reduced``, ``hhep``, ``kang_ifnb``, a BEELINE id, or a user card's id).

    Returns
    -------
    anndata.AnnData
        Cells x genes, log-scale ``.X`` (see ``.uns['scale']``), provenance in ``.uns``.

    Raises
    ------
    grnbench.errors.UnknownIdError
        For an unregistered id or an unknown reader format.
    grnbench.errors.MissingDataError, grnbench.errors.ChecksumError
        If a source file is missing or fails its sha256 check.
    grnbench.errors.DataValidationError
        If the file cannot be read, a declared layer or obs column is missing, count data are not
        integers, or the matrix has duplicated genes, NaN/Inf or negative log values.
    """
    spec = get_dataset(id)
    if spec.loader is not None:
        adata = spec.loader()
    else:
        paths = {name: src.fetch() for name, src in zip(spec.source_names or range(len(spec.sources)), spec.sources)}
        if spec.format not in FORMATS:
            raise UnknownIdError(f"dataset {id}: unknown format {spec.format!r} in {spec.card or 'its card'}; "
                                 f"known: {', '.join(sorted(FORMATS))}")
        adata = FORMATS[spec.format](paths, spec, **spec.reader)
        first = str(next(iter(paths.values())))
        adata = _select_obs(_select_matrix(adata, spec, first), spec, first)
        adata = read_matrix(adata, spec.scale, name=first)
    where = f"{id} ({spec.sources[0].relpath})" if spec.card and spec.sources else id
    validate_expression(adata.X, adata.var_names, name=where, log_scale=spec.scale != "none", cells=adata.obs_names)
    adata.uns["scale"] = spec.scale_note or adata.uns.get("scale", spec.scale)
    adata.uns["provenance"] = {
        "dataset": id,
        "card": spec.card,
        "sources": [s.describe() for s in spec.sources],
        "citation": spec.citation,
        "licence": spec.licence,
    }
    return adata


def _select_matrix(adata: ad.AnnData, spec, name: str) -> ad.AnnData:
    """Use ``.X``, ``.raw.X`` (``layer: raw``) or a named layer as the expression matrix."""
    if spec.layer in (None, "", "X"):
        return adata
    if spec.layer == "raw":
        if adata.raw is None:
            raise DataValidationError(f"{name}: the card asks for layer 'raw' but the file has no .raw")
        return ad.AnnData(X=adata.raw.X, obs=adata.obs, var=pd.DataFrame(index=adata.raw.var_names.copy()))
    if spec.layer not in adata.layers:
        raise DataValidationError(f"{name}: layer {spec.layer!r} is missing; layers: "
                                  f"{format_names(list(adata.layers)) or 'none'} (or omit --layer to use .X)")
    return ad.AnnData(X=adata.layers[spec.layer], obs=adata.obs, var=adata.var)


def _select_obs(adata: ad.AnnData, spec, name: str) -> ad.AnnData:
    """Keep (and rename) the card's ``obs`` columns."""
    if not spec.obs:
        return adata
    missing = sorted({col for col in spec.obs.values() if col not in adata.obs.columns})
    if missing:
        raise DataValidationError(f"{name}: obs column(s) {format_names(missing)} named in the card are missing "
                                  f"(have {format_names(list(adata.obs.columns))})")
    obs = pd.DataFrame({new: adata.obs[col].to_numpy() for new, col in spec.obs.items()}, index=adata.obs_names)
    for new, col in spec.obs.items():
        if isinstance(adata.obs[col].dtype, pd.CategoricalDtype):
            obs[new] = pd.Categorical(obs[new], categories=adata.obs[col].cat.categories)
    return ad.AnnData(X=adata.X, obs=obs, var=adata.var, uns=dict(adata.uns))


def read_matrix(adata: ad.AnnData, scale: str, *, name: str) -> ad.AnnData:
    """Bring ``.X`` to float32 on a log scale according to ``scale``.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells x genes.
    scale : {"counts", "linear", "log1p", "log", "none"}
        ``counts``: non-negative integers, normalised to 10,000 per cell and log1p-transformed
        (:func:`scanpy.pp.normalize_total`, :func:`scanpy.pp.log1p`); ``linear``: non-negative
        normalised values (TPM, RPKM), log1p-transformed; ``log1p``/``log``/``none``: used as is.
    name : str
        File name for error messages.

    Returns
    -------
    anndata.AnnData
        The same object with a float32 ``.X`` (sparse stays sparse).

    Raises
    ------
    grnbench.errors.DataValidationError
        If ``counts`` hold non-integer or negative values, or ``linear`` values are negative (the
        message names the gene, the cell and the value).
    """
    x = adata.X
    x = x.astype(np.float64) if sp.issparse(x) else np.asarray(x, dtype=np.float64)
    if scale in ("counts", "linear"):
        values = x.data if sp.issparse(x) else x
        bad = ~np.isfinite(values) | (values < 0)
        if scale == "counts":
            bad |= values != np.round(values)
        if bad.any():
            xd = dense(x)
            okay = np.isfinite(xd) & (xd >= 0) & ((xd == np.round(xd)) if scale == "counts" else True)
            r, c = np.argwhere(~okay)[0]
            what = "non-negative integer counts" if scale == "counts" else "non-negative values"
            raise DataValidationError(
                f"{name}: scale {scale!r} needs {what}, but gene {adata.var_names[c]!r} has {xd[r, c]!r} in cell "
                f"{adata.obs_names[r]!r}. Is the matrix already normalised or log-transformed? Then declare "
                "scale 'log1p' (or 'linear' for normalised, not logged, values).")
        if scale == "counts":
            import scanpy as sc

            tmp = ad.AnnData(X=x, obs=pd.DataFrame(index=adata.obs_names), var=pd.DataFrame(index=adata.var_names))
            sc.pp.normalize_total(tmp, target_sum=1e4)
            sc.pp.log1p(tmp)
            x = tmp.X
        else:
            x = x.log1p() if sp.issparse(x) else np.log1p(x)
    adata.X = sp.csr_matrix(x, dtype=np.float32) if sp.issparse(x) else x.astype(np.float32)
    return adata


@register_format("h5ad")
def _read_h5ad(paths: dict, spec, var_names: str | None = None, **options) -> ad.AnnData:
    """An ``.h5ad`` file (any anndata layout; sparse matrices stay sparse).

    ``var_names``: a ``var`` column whose values become the gene names (e.g. symbols beside an
    index of Ensembl ids; ``grnbench run --gene-column``). Raises
    :class:`~grnbench.errors.DataValidationError` if the column is missing, has missing values or
    repeats a name.
    """
    path = next(iter(paths.values()))
    try:
        adata = _read_old_h5ad(path)
    except (OSError, KeyError, ValueError) as exc:
        raise DataValidationError(f"{path}: not a readable .h5ad file ({type(exc).__name__}: {exc})") from None
    if var_names:
        if var_names not in adata.var.columns:
            raise DataValidationError(f"{path}: gene column {var_names!r} (--gene-column) is not a var column (have "
                                      f"{format_names(list(adata.var.columns)) or 'none'})")
        names = adata.var[var_names].astype(str)
        empty = names.isin(["", "nan", "None"])
        if empty.any():
            raise DataValidationError(f"{path}: gene column {var_names!r} is empty for {int(empty.sum())} gene(s), "
                                      f"first {adata.var_names[empty.to_numpy()][0]!r}")
        dup = names[names.duplicated()].unique()
        if len(dup):
            raise DataValidationError(f"{path}: gene column {var_names!r} repeats {len(dup)} name(s) ("
                                      f"{format_names(list(dup))}): several features map to one gene; sum or drop "
                                      "them first (e.g. keep the most expressed feature per gene)")
        adata.var_names = pd.Index(names.to_numpy(), name=None)
    return adata


@register_format("csv_genes_by_cells")
def _read_csv_genes_by_cells(paths: dict, spec, obs_from_cell_names: dict | None = None, **options) -> ad.AnnData:
    """A CSV (optionally gzipped) with genes as rows and cells as columns (BEELINE's layout).

    ``obs_from_cell_names``: ``{column, pattern, categories}`` derives an obs column from a
    regular expression on the cell names (e.g. the differentiation stage suffix).
    """
    import re

    path = next(iter(paths.values()))
    df = pd.read_csv(path, index_col=0)
    obs = pd.DataFrame(index=pd.Index(df.columns.astype(str), name="cell"))
    if obs_from_cell_names:
        rule = obs_from_cell_names
        pattern = re.compile(rule["pattern"])
        values = [(m.group(1) if (m := pattern.search(c)) else "") for c in obs.index]
        cats = rule.get("categories")
        unknown = sorted(set(values) - set(cats)) if cats else []
        if unknown:
            raise DataValidationError(f"{path}: cell names must end in a {rule['column']} suffix {tuple(cats)}; "
                                      f"unknown suffix(es) {format_names(unknown)}")
        obs[rule["column"]] = pd.Categorical(values, categories=cats, ordered=bool(cats)) if cats else values
    validate_expression(df.to_numpy().T, df.index, name=str(path), log_scale=spec.scale != "none", cells=df.columns)
    return ad.AnnData(X=df.to_numpy(dtype=np.float32).T, obs=obs,
                      var=pd.DataFrame(index=pd.Index(df.index.astype(str), name="gene")))


@register_format("rda")
def _read_rda(paths: dict, spec, matrix: str, annotation: str, obs_columns: dict, categories: dict | None = None,
              **options) -> ad.AnnData:
    """An R data file with a genes x cells data frame and a per-cell annotation data frame."""
    import pyreadr

    path = next(iter(paths.values()))
    frames = pyreadr.read_r(str(path))
    for obj in (matrix, annotation):
        if obj not in frames:
            raise DataValidationError(f"{path}: no R object {obj!r} (found {list(frames)})")
    values, ann = frames[matrix], frames[annotation]
    missing = [c for c in obs_columns.values() if c not in ann.columns]
    if missing:
        raise DataValidationError(f"{path}: object {annotation!r} lacks column(s) {format_names(missing)}")
    if list(ann.index) != list(values.columns):
        raise DataValidationError(f"{path}: cells of {annotation!r} and {matrix!r} differ")
    obs = pd.DataFrame(index=pd.Index(ann.index.astype(str), name="cell"))
    for new, col in obs_columns.items():
        cats = (categories or {}).get(new)
        obs[new] = pd.Categorical(ann[col].astype(str), categories=cats, ordered=bool(cats))
    return ad.AnnData(X=values.to_numpy(dtype=np.float64).T, obs=obs,
                      var=pd.DataFrame(index=pd.Index(values.index.astype(str), name="gene")))


@register_format("lembas_ligand_screen")
def _read_lembas_ligand_screen(paths: dict, spec, **options) -> ad.AnnData:
    """The LEMBAS ligand screen: ligand inputs and TF-activity outputs per condition, plus the signed network."""
    from .priors import _signed

    net = pd.read_csv(paths["model"], sep="\t")
    missing = {"source", "target", "stimulation", "inhibition"} - set(net.columns)
    if missing:
        raise DataValidationError(f"{paths['model']}: missing column(s) {format_names(sorted(missing))}")
    network = _signed(net, net["stimulation"] == 1, net["inhibition"] == 1)
    ligands = pd.read_csv(paths["ligands"], sep="\t", index_col=0)
    tfs = pd.read_csv(paths["tfs"], sep="\t", index_col=0)
    if not ligands.index.equals(tfs.index):
        raise DataValidationError(f"{paths['ligands']} and {paths['tfs']} list different conditions")
    annotation = pd.read_csv(paths["annotation"], sep="\t").drop_duplicates("code").set_index("code")["name"]
    x = np.hstack([ligands.to_numpy(dtype=np.float32), tfs.to_numpy(dtype=np.float32)])
    var = pd.DataFrame({"role": ["input"] * ligands.shape[1] + ["output"] * tfs.shape[1]},
                       index=pd.Index([*ligands.columns.astype(str), *tfs.columns.astype(str)], name="code"))
    var["symbol"] = [str(annotation.get(c, c)) for c in var.index]
    obs = pd.DataFrame({"lps": [c.endswith("_LPS") for c in ligands.index]},
                       index=pd.Index(ligands.index.astype(str), name="condition"))
    adata = ad.AnnData(X=x, obs=obs, var=var)
    adata.uns["network"] = network
    return adata


register_builtin_cards()
