"""Task data for ``edge_classification``: expression, TFs, candidate targets and labelled edges."""

from __future__ import annotations

from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd

from ...data import load_dataset, load_prior
from ...data.validation import dense
from ...errors import DataValidationError, format_names

__all__ = ["EdgeData", "prepare", "gene_profiles"]


@dataclass
class EdgeData:
    """One edge-classification dataset.

    Attributes
    ----------
    dataset : str
    expression : pandas.DataFrame
        Cells x genes, log scale (BEELINE's log-transformed values; log1p CP10k for pbmc68k).
    tfs : list of str
        Regulators (rows of the candidate pair grid): TFs with at least one positive edge in the
        ground truth. TFs the ground truth does not cover (e.g. not profiled by ChIP-seq) have
        unknown, not negative, edges and are left out, as in BEELINE's evaluation.
    genes : list of str
        Candidate targets (every gene of the dataset).
    edges : pandas.DataFrame
        Positive pairs, columns ``tf, target`` (self-pairs removed).
    reference : pandas.DataFrame or None
        The shipped split (``tf, target, label, part``) where one exists.
    """

    dataset: str
    expression: pd.DataFrame
    tfs: list[str]
    genes: list[str]
    edges: pd.DataFrame
    reference: pd.DataFrame | None = None
    counts: dict = field(default_factory=dict)
    #: Genes x features, label-free expression profiles (set by the benchmark, :func:`gene_profiles`).
    gene_features: pd.DataFrame | None = None

    @property
    def density(self) -> float:
        """Positives / candidate pairs (TFs x genes minus self-pairs): the AUPRC of a random scorer."""
        n = len(self.tfs) * len(self.genes) - len(set(self.tfs) & set(self.genes))
        return len(self.edges) / n


def _validate_edges(edges: pd.DataFrame, genes, name: str) -> pd.DataFrame:
    for col in ("tf", "target"):
        if col not in edges.columns:
            raise DataValidationError(f"{name}: labels lack column {col!r} (have {list(edges.columns)})")
    absent = sorted((set(edges["tf"]) | set(edges["target"])) - set(genes))
    if absent:
        raise DataValidationError(f"{name}: labelled gene(s) {format_names(absent)} are absent from the expression matrix")
    return edges


def prepare(dataset: str, adata: ad.AnnData | None = None, prior: str | None = None) -> EdgeData:
    """Load an edge dataset.

    Parameters
    ----------
    dataset : str
        A BEELINE id (``mesc_500_specific`` ...; ground truth shipped with the data) or any dataset
        whose card names a prior (e.g. ``pbmc68k_reduced``: TF -> gene pairs labelled with the
        prior's edges; TFs = the prior's TFs among the genes).
    adata : anndata.AnnData, optional
        Use this object (tests); without ``uns['edges']`` a ``prior`` is needed.
    prior : str, optional
        Prior that labels the pairs of a dataset without ground truth (default: the card's ``prior``).

    Raises
    ------
    grnbench.errors.DataValidationError
        If a labelled gene is absent from the expression matrix, the expression has NaN, there
        are no positive edges, or a dataset without ground truth has no prior.
    """
    if adata is None:
        from ...registry import get_dataset

        prior = prior or get_dataset(dataset).prior
        adata = load_dataset(dataset)
    x = pd.DataFrame(dense(adata.X).astype(np.float32), index=adata.obs_names, columns=adata.var_names)
    if not np.isfinite(x.to_numpy()).all():
        bad = x.columns[~np.isfinite(x.to_numpy()).all(axis=0)]
        raise DataValidationError(f"{dataset}: NaN or infinite expression in gene(s) {format_names(bad)}")
    genes = list(x.columns)
    if "edges" in adata.uns:
        edges = _validate_edges(pd.DataFrame(adata.uns["edges"]), genes, dataset)
        tfs = [g for g in genes if g in set(edges["tf"])] if "is_tf" not in adata.var else \
            [g for g, t in zip(genes, adata.var["is_tf"]) if t]
    else:
        if not prior:
            raise DataValidationError(f"{dataset}: no ground-truth edges (uns['edges']) and no prior network to "
                                      "label TF -> gene pairs (key 'prior' of its card)")
        net = load_prior(prior)
        pool = set(genes)
        net = net[net["source"].isin(pool) & net["target"].isin(pool)]
        edges = net.rename(columns={"source": "tf"})[["tf", "target"]]
        tfs = sorted(set(edges["tf"]))
    edges = edges[edges["tf"] != edges["target"]].drop_duplicates().reset_index(drop=True)
    if edges.empty:
        raise DataValidationError(f"{dataset}: no positive TF -> target edges among its genes")
    n_listed = len(tfs)
    tfs = [t for t in tfs if t in set(edges["tf"])]
    ref = adata.uns.get("reference_split")
    if ref is not None:
        ref = _validate_edges(pd.DataFrame(ref), genes, f"{dataset} reference split")
    data = EdgeData(dataset=dataset, expression=x, tfs=tfs, genes=genes, edges=edges, reference=ref)
    data.counts = {"dataset": dataset, "cells": x.shape[0], "genes": len(genes), "tfs_listed": n_listed, "tfs": len(tfs),
                   "positive_edges": len(edges), "density": round(data.density, 5),
                   "reference_split": ref is not None}
    return data


def gene_profiles(expression: pd.DataFrame, n_clusters: int = 11, n_pcs: int = 16, seed: int = 0) -> pd.DataFrame:
    """Label-free per-gene expression features for the two-tower model.

    Cells are z-scored per gene and clustered with k-means (``n_clusters``, seeded; the seed
    system used 11 cell-type means); a gene's features are its mean z-score in each cluster
    plus its loadings on the first ``n_pcs`` principal components of the cells x genes matrix.
    No edge label is used, so all cells can be used.

    Returns
    -------
    pandas.DataFrame
        Genes x (n_clusters + n_pcs), each column standardised.
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    x = expression.to_numpy(dtype=np.float64)
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    k = min(n_clusters, max(2, z.shape[0] // 5))
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(z)
    means = np.vstack([z[labels == c].mean(axis=0) for c in range(k)]).T  # genes x k
    n_pc = min(n_pcs, min(z.shape) - 1)
    pca = PCA(n_components=n_pc, random_state=seed).fit(z)
    loadings = pca.components_.T * np.sqrt(pca.explained_variance_)  # genes x n_pc
    feats = np.hstack([means, loadings])
    feats = (feats - feats.mean(axis=0)) / np.where(feats.std(axis=0) > 0, feats.std(axis=0), 1.0)
    cols = [f"cluster{c}" for c in range(k)] + [f"pc{i + 1}" for i in range(n_pc)]
    return pd.DataFrame(feats.astype(np.float32), index=expression.columns, columns=cols)
