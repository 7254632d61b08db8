"""Baselines of the perturbation-response task (scikit-learn estimators).

Every model is fitted on perturbation examples and predicts final states::

    est.fit(X, Y)          # X: PerturbationInput (n examples), Y: ndarray (n, n_genes)
    est.predict(X_new)     # ndarray (n_new, n_genes), same scale as Y (e.g. log1p CP10k)

Baselines follow Ahlmann-Eltze, Huber & Anders 2025 (doi:10.1038/s41592-025-02772-6) and
GEARS (Roohani et al. 2024, doi:10.1038/s41587-023-01905-6): "no change" (predict the control),
the training mean, the additive shift, a linear model on PCA gene embeddings, and k nearest
neighbours. Token-aware where it matters: means and shifts are taken over the training examples
with the same perturbagen token (all examples if none has it).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from ...errors import DataValidationError, GeneMismatchError, format_names
from .datasets import PerturbationInput

__all__ = ["PerturbationModel", "NoChange", "TrainMean", "Additive", "LinearPCA", "KNNResponse"]


class PerturbationModel(BaseEstimator):
    """Base class: input checks and per-token statistics of the training examples."""

    def _check_fit(self, X, Y) -> np.ndarray:
        if not isinstance(X, PerturbationInput):
            raise DataValidationError(f"X must be a PerturbationInput, got {type(X).__name__}")
        y = np.asarray(Y, dtype=np.float64)
        if y.shape != X.x0.shape:
            raise DataValidationError(f"Y has shape {y.shape}; X.x0 has {X.x0.shape}")
        if len(X) < 1:
            raise DataValidationError("no training examples")
        self.genes_ = list(X.genes)
        return y

    def _check_predict(self, X) -> PerturbationInput:
        if not isinstance(X, PerturbationInput):
            raise DataValidationError(f"X must be a PerturbationInput, got {type(X).__name__}")
        if list(X.genes) != self.genes_:
            missing = sorted(set(self.genes_) - set(X.genes))
            extra = sorted(set(X.genes) - set(self.genes_))
            raise GeneMismatchError(f"{type(self).__name__} was fitted on {len(self.genes_)} genes; the new data have "
                                    f"{len(X.genes)} (missing {format_names(missing) or 'none'}, extra "
                                    f"{format_names(extra) or 'none'}, or another order)")
        return X

    @staticmethod
    def _per_token(values: np.ndarray, tokens: np.ndarray) -> dict:
        out = {t: np.nanmean(values[tokens == t], axis=0) for t in np.unique(tokens)}
        out[None] = np.nanmean(values, axis=0)
        return out

    @staticmethod
    def _lookup(table: dict, tokens: np.ndarray) -> np.ndarray:
        return np.vstack([table.get(t, table[None]) for t in tokens])


class NoChange(PerturbationModel):
    """Predict the initial state (the control): the perturbation changes nothing."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, Y, validation=None):
        self._check_fit(X, Y)
        return self

    def predict(self, X) -> np.ndarray:
        return np.nan_to_num(self._check_predict(X).x0.copy())


class TrainMean(PerturbationModel):
    """Predict the mean final state of the training examples with the same perturbagen."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, Y, validation=None):
        y = self._check_fit(X, Y)
        self.means_ = self._per_token(y, X.token)
        return self

    def predict(self, X) -> np.ndarray:
        X = self._check_predict(X)
        return self._lookup(self.means_, X.token)


class Additive(PerturbationModel):
    """Initial state + the mean shift ``Y - x0`` of the training examples with the same perturbagen
    (other cell types' stimulation response; other knockouts' mean effect)."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, Y, validation=None):
        y = self._check_fit(X, Y)
        self.shift_ = self._per_token(y - X.x0, X.token)
        return self

    def predict(self, X) -> np.ndarray:
        X = self._check_predict(X)
        return np.nan_to_num(X.x0) + self._lookup(self.shift_, X.token)


def _features(X: PerturbationInput, loadings: np.ndarray, center: np.ndarray, tokens: list) -> np.ndarray:
    """Perturbation and state embeddings: ``[pert @ G, (x0 - mean) @ G, one-hot(token)]``."""
    x0 = np.nan_to_num(X.x0 - center)
    onehot = np.column_stack([(X.token == t).astype(float) for t in tokens]) if tokens else np.zeros((len(X), 0))
    return np.hstack([X.pert @ loadings, x0 @ loadings, onehot])


class _Embedded(PerturbationModel):
    def _embed_fit(self, X, y):
        from sklearn.decomposition import PCA

        stack = np.vstack([np.nan_to_num(X.x0), y])
        k = int(min(self.n_components, stack.shape[0] - 1, stack.shape[1]))
        if k < 1:
            raise DataValidationError("too few training examples for a PCA gene embedding")
        self.center_ = stack.mean(axis=0)
        self.loadings_ = PCA(n_components=k, random_state=0).fit(stack).components_.T  # genes x k
        self.tokens_ = sorted(t for t in set(X.token) if t)
        return _features(X, self.loadings_, self.center_, self.tokens_)


class LinearPCA(_Embedded):
    """Linear model on PCA gene embeddings (Ahlmann-Eltze, Huber & Anders 2025).

    With ``G`` (genes x k) the top-k principal axes of the training expression and ``Z`` the
    examples' embeddings (perturbation ``p @ G``, initial state ``(x0 - mean) @ G``, perturbagen
    one-hot), the shift ``Δ = Y - x0`` minus its per-token mean is fitted as ``G W Zᵀ`` with the
    closed-form ridge solution ``W = (GᵀG + λI)⁻¹ Gᵀ Δᵀ Z (ZᵀZ + λI)⁻¹`` of the paper's code.

    Parameters
    ----------
    n_components : int
        k, the embedding dimension (10 as in the paper).
    alpha : float
        Ridge penalty λ (0.1 as in the paper).
    """

    def __init__(self, n_components=10, alpha=0.1, random_state=None):
        self.n_components = n_components
        self.alpha = alpha
        self.random_state = random_state

    def fit(self, X, Y, validation=None):
        y = self._check_fit(X, Y)
        z = self._embed_fit(X, y)
        self.shift_ = self._per_token(y - np.nan_to_num(X.x0), X.token)
        delta = (y - np.nan_to_num(X.x0) - self._lookup(self.shift_, X.token)).T  # genes x n
        self.z_mean_ = z.mean(axis=0)
        zc = z - self.z_mean_
        g = self.loadings_
        left = np.linalg.solve(g.T @ g + self.alpha * np.eye(g.shape[1]), g.T @ delta)  # k x n
        self.coef_ = np.linalg.solve(zc.T @ zc + self.alpha * np.eye(zc.shape[1]), (left @ zc).T).T  # k x f
        return self

    def predict(self, X) -> np.ndarray:
        X = self._check_predict(X)
        z = _features(X, self.loadings_, self.center_, self.tokens_) - self.z_mean_
        return np.nan_to_num(X.x0) + self._lookup(self.shift_, X.token) + (self.loadings_ @ self.coef_ @ z.T).T


class KNNResponse(_Embedded):
    """Initial state + the mean shift of the ``n_neighbors`` training examples nearest in the
    (standardised) embedding space of :class:`LinearPCA`.

    Embedding dimensions that are constant up to rounding error (standard deviation below 1e-8
    of the largest, e.g. the initial-state embedding when every example starts from the same
    wild type) are dropped rather than standardised: scaling float noise to unit variance would
    let it decide the neighbours, differently on each CPU.

    Parameters
    ----------
    n_neighbors : int
    n_components : int
        PCA embedding dimension.
    """

    def __init__(self, n_neighbors=5, n_components=10, random_state=None):
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, Y, validation=None):
        from sklearn.neighbors import NearestNeighbors

        y = self._check_fit(X, Y)
        z = self._embed_fit(X, y)
        sd = z.std(axis=0)
        self.scale_ = np.where(sd > 1e-8 * sd.max(initial=0.0), sd, np.inf)  # inf: a constant dimension is dropped
        self.z_mean_ = z.mean(axis=0)
        self.shifts_ = y - np.nan_to_num(X.x0)
        self.nn_ = NearestNeighbors(n_neighbors=min(self.n_neighbors, len(z))).fit((z - self.z_mean_) / self.scale_)
        return self

    def predict(self, X) -> np.ndarray:
        X = self._check_predict(X)
        z = (_features(X, self.loadings_, self.center_, self.tokens_) - self.z_mean_) / self.scale_
        idx = self.nn_.kneighbors(z, return_distance=False)
        return np.nan_to_num(X.x0) + self.shifts_[idx].mean(axis=1)
