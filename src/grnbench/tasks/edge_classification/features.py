"""Pair features from expression alone (for ``pair_logreg`` / ``pair_xgb``).

For a TF -> target pair over all cells: Pearson and Spearman correlation, mutual information
of quantile-binned expression, and the mean and variance of each gene. No edge label enters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import DataValidationError, format_names

__all__ = ["PAIR_FEATURES", "PairFeaturizer"]

PAIR_FEATURES = ("pearson", "spearman", "mutual_info", "tf_mean", "tf_var", "target_mean", "target_var")


def _zscore(x):
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


class PairFeaturizer:
    """Compute :data:`PAIR_FEATURES` for pairs of genes of one expression matrix.

    Parameters
    ----------
    expression : pandas.DataFrame
        Cells x genes, log scale.
    n_bins : int
        Quantile bins per gene for the mutual information (plug-in estimate, nats; Cover &
        Thomas 2006). Genes with many zeros get fewer distinct bins.
    chunk : int
        Pairs per vectorised batch (memory: ``cells x chunk`` integers).
    """

    def __init__(self, expression: pd.DataFrame, n_bins: int = 8, chunk: int = 20_000):
        x = expression.to_numpy(dtype=np.float64)
        self.genes = pd.Index(expression.columns)
        self.n_bins = n_bins
        self.chunk = chunk
        n = x.shape[0]
        self._z = _zscore(x) / np.sqrt(n)
        ranks = pd.DataFrame(x).rank(axis=0).to_numpy()
        self._rz = _zscore(ranks) / np.sqrt(n)
        qs = np.quantile(x, np.linspace(0, 1, n_bins + 1)[1:-1], axis=0)  # (n_bins-1, genes)
        self._bins = np.stack([np.searchsorted(np.unique(qs[:, j]), x[:, j], side="right") for j in range(x.shape[1])],
                              axis=1).astype(np.int64)
        self._mean, self._var = x.mean(axis=0), x.var(axis=0)

    def index(self, genes) -> np.ndarray:
        """Column positions of ``genes``; raises naming genes absent from the expression matrix."""
        idx = self.genes.get_indexer(pd.Index(genes))
        if (idx < 0).any():
            missing = sorted(set(np.asarray(genes)[idx < 0]))
            raise DataValidationError(f"pair gene(s) {format_names(missing)} are absent from the expression matrix")
        return idx

    def _mi(self, a, b):
        nb = self.n_bins
        n = self._bins.shape[0]
        out = np.empty(len(a))
        for s in range(0, len(a), self.chunk):
            ia, ib = a[s:s + self.chunk], b[s:s + self.chunk]
            m = len(ia)
            joint = self._bins[:, ia] * nb + self._bins[:, ib] + (np.arange(m) * nb * nb)[None, :]
            counts = np.bincount(joint.ravel(), minlength=m * nb * nb).reshape(m, nb, nb) / n
            pa, pb = counts.sum(axis=2, keepdims=True), counts.sum(axis=1, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                terms = np.where(counts > 0, counts * np.log(counts / (pa * pb)), 0.0)
            out[s:s + m] = terms.sum(axis=(1, 2))
        return out

    def transform(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """Features of ``pairs`` (columns ``tf, target``), shape (n_pairs, 7)."""
        a, b = self.index(pairs["tf"]), self.index(pairs["target"])
        pear = np.empty(len(a))
        spear = np.empty(len(a))
        for s in range(0, len(a), self.chunk):
            ia, ib = a[s:s + self.chunk], b[s:s + self.chunk]
            pear[s:s + len(ia)] = np.einsum("ij,ij->j", self._z[:, ia], self._z[:, ib])
            spear[s:s + len(ia)] = np.einsum("ij,ij->j", self._rz[:, ia], self._rz[:, ib])
        return pd.DataFrame({"pearson": pear, "spearman": spear, "mutual_info": self._mi(a, b),
                             "tf_mean": self._mean[a], "tf_var": self._var[a],
                             "target_mean": self._mean[b], "target_var": self._var[b]}, index=pairs.index)
