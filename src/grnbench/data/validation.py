"""Schema checks for expression matrices and prior networks.

Every check raises :class:`grnbench.errors.DataValidationError` with a message that
names the file (or dataset), the column and the genes at fault.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DataValidationError, format_names

__all__ = ["PRIOR_COLUMNS", "PRIOR_OPTIONAL_COLUMNS", "validate_prior", "validate_expression", "dense",
           "expression_frame"]

#: Required columns of a tidy prior network (decoupler convention).
PRIOR_COLUMNS = ("source", "target", "weight")
#: Optional columns: ``sign_known`` is False where the source gives no mode of regulation.
PRIOR_OPTIONAL_COLUMNS = ("sign_known",)


def dense(x) -> np.ndarray:
    """Return ``x`` as a dense ``numpy`` array (sparse matrices are densified)."""
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def validate_prior(prior: pd.DataFrame, name: str) -> pd.DataFrame:
    """Check a tidy prior network ``source, target, weight[, sign_known]``.

    Parameters
    ----------
    prior : pandas.DataFrame
        One row per directed edge TF -> target. ``weight`` is numeric and non-zero; its
        sign is the mode of regulation (+ activation, - repression).
    name : str
        File or prior id, used in error messages.

    Returns
    -------
    pandas.DataFrame
        ``prior`` with ``weight`` as float and ``source``/``target`` as str.

    Raises
    ------
    grnbench.errors.DataValidationError
        On a missing or extra column, an empty table, empty gene names, a non-numeric,
        NaN, infinite or zero weight, or a duplicated (source, target) pair.
    """
    cols = list(prior.columns)
    missing = [c for c in PRIOR_COLUMNS if c not in cols]
    if missing:
        raise DataValidationError(
            f"prior {name}: missing column(s) {format_names(missing)}; "
            f"expected {list(PRIOR_COLUMNS)} (+ optional {list(PRIOR_OPTIONAL_COLUMNS)}), got {cols}"
        )
    extra = [c for c in cols if c not in PRIOR_COLUMNS + PRIOR_OPTIONAL_COLUMNS]
    if extra:
        raise DataValidationError(
            f"prior {name}: unexpected column(s) {format_names(extra)}; "
            f"expected {list(PRIOR_COLUMNS)} (+ optional {list(PRIOR_OPTIONAL_COLUMNS)})"
        )
    if len(prior) == 0:
        raise DataValidationError(f"prior {name}: no edges")
    out = prior.copy()
    for col in ("source", "target"):
        bad = out[col].isna() | (out[col].astype(str).str.strip() == "")
        if bad.any():
            raise DataValidationError(
                f"prior {name}: column {col!r} has {int(bad.sum())} empty gene name(s), "
                f"first at row {int(np.flatnonzero(bad.to_numpy())[0])}"
            )
        out[col] = out[col].astype(str)
    weight = pd.to_numeric(out["weight"], errors="coerce")
    bad = weight.isna() & out["weight"].notna()
    if bad.any():
        rows = out.loc[bad, "weight"].head(3).tolist()
        raise DataValidationError(
            f"prior {name}: column 'weight' has {int(bad.sum())} non-numeric value(s), e.g. {rows}"
        )
    if weight.isna().any():
        raise DataValidationError(f"prior {name}: column 'weight' has {int(weight.isna().sum())} missing value(s)")
    if not np.isfinite(weight).all():
        raise DataValidationError(f"prior {name}: column 'weight' has infinite value(s)")
    zero = weight == 0
    if zero.any():
        edges = [f"{s}->{t}" for s, t in out.loc[zero, ["source", "target"]].head(5).itertuples(index=False)]
        raise DataValidationError(
            f"prior {name}: column 'weight' is zero for {int(zero.sum())} edge(s) ({format_names(edges)}); "
            "the weight's sign is the mode of regulation, so it must be non-zero"
        )
    out["weight"] = weight.astype(float)
    dup = out.duplicated(["source", "target"], keep=False)
    if dup.any():
        edges = [f"{s}->{t}" for s, t in out.loc[dup, ["source", "target"]].drop_duplicates().itertuples(index=False)]
        raise DataValidationError(
            f"prior {name}: {len(edges)} duplicated (source, target) pair(s): {format_names(edges)}"
        )
    if "sign_known" in out:
        out["sign_known"] = out["sign_known"].astype(bool)
    return out.reset_index(drop=True)


def validate_expression(
    x,
    genes,
    name: str,
    *,
    log_scale: bool = True,
    cells=None,
) -> None:
    """Check an expression matrix (cells x genes).

    Parameters
    ----------
    x : array-like or sparse matrix, shape (n_cells, n_genes)
        Expression values.
    genes : sequence of str, length n_genes
        Gene names (``var_names``).
    name : str
        File or dataset id, used in error messages.
    log_scale : bool
        If True the values are log-transformed counts, so they must be >= 0.
    cells : sequence of str, optional
        Cell names, to name the cells at fault.

    Raises
    ------
    grnbench.errors.DataValidationError
        On a shape mismatch, duplicated or empty gene names, NaN/Inf values, or negative
        values in a log-scale matrix (the message names the genes).
    """
    genes = pd.Index([str(g) for g in genes])
    if x.shape[1] != len(genes):
        raise DataValidationError(f"{name}: matrix has {x.shape[1]} gene columns but {len(genes)} gene names")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise DataValidationError(f"{name}: empty expression matrix of shape {x.shape}")
    empty = genes[(genes == "") | (genes.str.lower() == "nan")]
    if len(empty):
        raise DataValidationError(f"{name}: {len(empty)} empty gene name(s)")
    dups = genes[genes.duplicated()].unique()
    if len(dups):
        raise DataValidationError(f"{name}: duplicated gene name(s) {format_names(dups)}")
    values = x.data if sp.issparse(x) else np.asarray(x)
    if not np.isfinite(values).all():
        bad_genes = _genes_where(x, lambda v: ~np.isfinite(v), genes)
        raise DataValidationError(f"{name}: NaN or infinite values in gene(s) {format_names(bad_genes)}")
    if log_scale and (values < 0).any():
        bad_genes = _genes_where(x, lambda v: v < 0, genes)
        where = ""
        if cells is not None:
            xd = dense(x)
            first = np.argwhere(xd < 0)[0]
            where = f" (first at cell {list(cells)[first[0]]!r})"
        raise DataValidationError(
            f"{name}: negative values in a log-scale matrix for gene(s) {format_names(bad_genes)}{where}; "
            "expected log-transformed counts (>= 0). Is the matrix scaled/centred?"
        )


def _genes_where(x, predicate, genes: pd.Index) -> list[str]:
    xd = dense(x)
    cols = np.flatnonzero(predicate(xd).any(axis=0))
    return list(genes[cols])


def expression_frame(adata, name: str) -> pd.DataFrame:
    """``adata.X`` as a float64 cells x genes DataFrame, after :func:`validate_expression`.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells x genes.
    name : str
        Dataset id for error messages.

    Raises
    ------
    grnbench.errors.DataValidationError
        For duplicated or empty gene names or NaN/Inf values (the message names the genes).
    """
    validate_expression(adata.X, adata.var_names, name, log_scale=False, cells=adata.obs_names)
    return pd.DataFrame(dense(adata.X).astype(np.float64), index=adata.obs_names.astype(str),
                        columns=pd.Index(adata.var_names.astype(str)))
