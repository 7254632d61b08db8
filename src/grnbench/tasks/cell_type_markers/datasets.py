"""Task data for ``cell_type_markers``: log-normalised expression and a cell-type label."""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from ...data import load_dataset
from ...data.validation import dense
from ...errors import DataValidationError, format_names

__all__ = ["CellTypeData", "prepare", "LABELS"]

#: Label column per dataset (``obs``).
LABELS = {"pbmc68k_reduced": "cell_type", "kang_ifnb": "cell_type", "yan2013_embryo": "cell_type"}


@dataclass
class CellTypeData:
    """Expression and labels of one dataset.

    Attributes
    ----------
    dataset : str
    adata : anndata.AnnData
        Cells x genes, dense float32 log-scale ``.X``; ``obs['label']`` holds the cell type.
    label_key : str
        The ``obs`` column the labels come from.
    """

    dataset: str
    adata: ad.AnnData
    label_key: str

    @property
    def labels(self) -> pd.Series:
        return self.adata.obs["label"]

    def X(self, cells=None, genes=None) -> pd.DataFrame:
        """Expression (cells x genes) as a DataFrame; ``cells`` a boolean mask, ``genes`` names."""
        sub = self.adata if cells is None else self.adata[cells]
        if genes is not None:
            sub = sub[:, list(genes)]
        return pd.DataFrame(dense(sub.X), index=sub.obs_names, columns=sub.var_names)

    def y(self, cells=None) -> np.ndarray:
        lab = self.labels if cells is None else self.labels[cells]
        return lab.astype(str).to_numpy()


def prepare(dataset: str, label_key: str | None = None, adata: ad.AnnData | None = None) -> CellTypeData:
    """Load a dataset and attach its cell-type labels.

    Parameters
    ----------
    dataset : str
        Dataset id.
    label_key : str, optional
        ``obs`` column with the labels (default :data:`LABELS`).
    adata : anndata.AnnData, optional
        Use this object instead of loading ``dataset`` (tests).

    Raises
    ------
    grnbench.errors.DataValidationError
        If the label column is missing or has missing values, or the matrix has NaN.
    """
    adata = load_dataset(dataset) if adata is None else adata
    key = label_key or LABELS.get(dataset, "cell_type")
    if key not in adata.obs.columns:
        raise DataValidationError(f"{dataset}: label column {key!r} is missing from obs (have {list(adata.obs.columns)})")
    labels = adata.obs[key]
    if labels.isna().any():
        raise DataValidationError(f"{dataset}: label column {key!r} has {int(labels.isna().sum())} missing value(s)")
    x = dense(adata.X).astype(np.float32)
    if not np.isfinite(x).all():
        bad = adata.var_names[~np.isfinite(x).all(axis=0)]
        raise DataValidationError(f"{dataset}: NaN or infinite expression in gene(s) {format_names(bad)}")
    out = ad.AnnData(X=x, obs=adata.obs.copy(), var=pd.DataFrame(index=adata.var_names.copy()))
    out.obs["label"] = labels.astype(str).astype("category")
    out.uns["scale"] = adata.uns.get("scale", "")
    return CellTypeData(dataset=dataset, adata=out, label_key=key)
