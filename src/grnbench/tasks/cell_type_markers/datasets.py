"""Task data for ``cell_type_markers``: log-normalised expression and a cell-type label."""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from ...data import load_dataset
from ...data.validation import dense
from ...errors import DataValidationError, format_names

__all__ = ["CellTypeData", "prepare"]


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
    caps : tuple, optional
        ``(min_cluster_size, test_cap, val_cap, train_cap)`` of the capped split (default per dataset).
    ood : dict, optional
        Held-out condition of the ``ood`` split (``obs_key``, ``test``[, ``train``]).
    """

    dataset: str
    adata: ad.AnnData
    label_key: str
    caps: tuple | None = None
    ood: dict | None = None

    @property
    def counts(self) -> dict:
        """Cells, genes and classes (``counts.csv``)."""
        return {"dataset": self.dataset, "cells": int(self.adata.n_obs), "genes": int(self.adata.n_vars),
                "classes": int(self.labels.nunique())}

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
    """Load a dataset and attach its cell-type labels (settings from the dataset's card).

    Parameters
    ----------
    dataset : str
        Dataset id.
    label_key : str, optional
        ``obs`` column with the labels (default: the card's ``label_key``, else ``cell_type``).
    adata : anndata.AnnData, optional
        Use this object instead of loading ``dataset`` (tests; the card is then not read).

    Raises
    ------
    grnbench.errors.DataValidationError
        If the label column is missing or has missing values, or the matrix has NaN.
    """
    spec = None
    if adata is None:
        from ...registry import get_dataset

        spec = get_dataset(dataset)
        adata = load_dataset(dataset)
    key = label_key or (spec.label_key if spec else None) or "cell_type"
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
    caps, ood = None, None
    if spec is not None:
        caps = tuple(spec.task_settings("cell_type_markers").get("caps") or ()) or None
        ood = spec.ood if spec.ood and spec.ood["obs_key"] != key else None  # a held-out condition, not a label
    return CellTypeData(dataset=dataset, adata=out, label_key=key, caps=caps, ood=ood)
