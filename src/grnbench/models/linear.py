"""Linear and constant regressors: train mean, MLR, ridge, and ridge on prior parents.

All map TF expression ``X`` (cells x TFs, log scale) to target expression ``Y``
(cells x targets, same scale) and follow the scikit-learn estimator API.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression, RidgeCV
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_is_fitted

from ..errors import DataValidationError
from .base import GeneAwareMixin

__all__ = ["MeanRegressor", "MLR", "RidgeAllTFs", "ParentRidge", "DEFAULT_ALPHAS"]

#: Ridge penalty grid shared by ``ridge`` and ``ridge_parents`` (log-spaced, 1e-2 .. 1e4).
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-2, 4, 13))


class _LinearPredictMixin(GeneAwareMixin):
    """``predict`` for models that store ``coef_`` (n_features, n_targets) and ``intercept_``."""

    def predict(self, X) -> np.ndarray:
        """Predict targets.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_cells, n_features)
            TF expression on the training scale.

        Returns
        -------
        ndarray, shape (n_cells, n_targets)

        Raises
        ------
        grnbench.errors.GeneMismatchError
            If the genes of ``X`` differ from those seen in ``fit``.
        """
        check_is_fitted(self, "coef_")
        x = self._check_genes(X)
        return x @ self.coef_ + self.intercept_


class MeanRegressor(_LinearPredictMixin, RegressorMixin, BaseEstimator):
    """Predict every target's training mean (the "no information" control).

    Parameters
    ----------
    random_state : int, optional
        Unused (deterministic); accepted so every model shares one API.
    """

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, Y, validation=None):
        """Store the per-target training mean. ``validation`` is ignored."""
        x, y = self._record_genes(X, Y)
        self.coef_ = np.zeros((x.shape[1], y.shape[1]))
        self.intercept_ = y.mean(axis=0)
        return self


class MLR(_LinearPredictMixin, RegressorMixin, BaseEstimator):
    """Multiple linear regression on all TFs (ordinary least squares, no penalty).

    The LEMBAS-RNN benchmark's MLR (sklearn ``LinearRegression``; Langridge 2026). With
    fewer training cells than TFs, or rarely expressed TFs, the least-squares fit is
    (near-)singular: ``lstsq`` returns the minimum-norm solution, which interpolates the
    training data and can extrapolate wildly on new cells.

    Parameters
    ----------
    fit_intercept : bool
        Fit an intercept per target.
    random_state : int, optional
        Unused (deterministic).
    """

    def __init__(self, fit_intercept=True, random_state=None):
        self.fit_intercept = fit_intercept
        self.random_state = random_state

    def fit(self, X, Y, validation=None):
        """Fit by least squares. ``validation`` is ignored."""
        x, y = self._record_genes(X, Y)
        lr = LinearRegression(fit_intercept=self.fit_intercept).fit(x, y)
        self.coef_ = np.asarray(lr.coef_).T.reshape(x.shape[1], y.shape[1])
        self.intercept_ = np.broadcast_to(np.asarray(lr.intercept_, dtype=float), (y.shape[1],)).copy()
        return self


class RidgeAllTFs(_LinearPredictMixin, RegressorMixin, BaseEstimator):
    """Ridge regression on all TFs with one penalty per target chosen by leave-one-out CV.

    Wraps :class:`sklearn.linear_model.RidgeCV` (efficient generalised cross-validation,
    ``alpha_per_target=True``). Hoerl AE, Kennard RW. Technometrics 12:55 (1970),
    doi:10.1080/00401706.1970.10488634.

    Parameters
    ----------
    alphas : tuple of float
        Penalty grid.
    random_state : int, optional
        Unused (deterministic).
    """

    def __init__(self, alphas=DEFAULT_ALPHAS, random_state=None):
        self.alphas = alphas
        self.random_state = random_state

    def fit(self, X, Y, validation=None):
        """Fit with leave-one-out choice of each target's penalty. ``validation`` is ignored."""
        x, y = self._record_genes(X, Y)
        rcv = RidgeCV(alphas=np.asarray(self.alphas), alpha_per_target=True).fit(x, y)
        self.coef_ = np.asarray(rcv.coef_).T.reshape(x.shape[1], y.shape[1])
        self.intercept_ = np.broadcast_to(np.asarray(rcv.intercept_, dtype=float), (y.shape[1],)).copy()
        self.alpha_ = np.atleast_1d(rcv.alpha_)
        return self


class ParentRidge(_LinearPredictMixin, RegressorMixin, BaseEstimator):
    """Ridge regression of each target on its prior-network parents only.

    The fair linear control for a network-constrained model: target ``j`` sees only the TFs
    ``i`` with ``parents[i, j]`` True (the same inputs LEMBAS-RNN gives it). Each target gets
    its own penalty from a grid by K-fold cross-validation on the training cells. All
    targets are solved together: targets are grouped by parent count, the parents' Gram
    sub-matrices are eigendecomposed in batches and every penalty is evaluated from one
    decomposition — no Python loop over per-target model fits. A target without parents
    is predicted by its training mean.

    Parameters
    ----------
    parents : array-like of bool, shape (n_features, n_targets)
        Prior mask: ``parents[i, j]`` is True if TF ``i`` regulates target ``j``.
    alphas : tuple of float
        Penalty grid.
    cv : int
        Folds of the inner cross-validation.
    cv_seed : int
        Seed of the inner fold assignment (fixed, so the model is deterministic).
    chunk_size : int
        Targets solved per batch (memory: ``chunk_size x k_max²``).
    random_state : int, optional
        Unused (deterministic).

    Attributes
    ----------
    coef_ : ndarray, shape (n_features, n_targets)
        Zero outside each target's parents.
    intercept_ : ndarray, shape (n_targets,)
    alpha_ : ndarray, shape (n_targets,)
        Chosen penalty per target (NaN for targets without parents).
    """

    def __init__(self, parents=None, alphas=DEFAULT_ALPHAS, cv=5, cv_seed=0, chunk_size=256, random_state=None):
        self.parents = parents
        self.alphas = alphas
        self.cv = cv
        self.cv_seed = cv_seed
        self.chunk_size = chunk_size
        self.random_state = random_state

    def fit(self, X, Y, validation=None):
        """Fit every target on its parents; penalties by inner K-fold CV.

        Parameters
        ----------
        X : array-like, shape (n_cells, n_features)
        Y : array-like, shape (n_cells, n_targets)
        validation : ignored

        Raises
        ------
        grnbench.errors.DataValidationError
            If ``parents`` is missing or its shape does not match ``X`` and ``Y``.
        """
        x, y = self._record_genes(X, Y)
        if self.parents is None:
            raise DataValidationError("ParentRidge needs a `parents` mask (n_features x n_targets)")
        mask = np.asarray(self.parents, dtype=bool)
        if mask.shape != (x.shape[1], y.shape[1]):
            raise DataValidationError(
                f"parents mask has shape {mask.shape}, expected (n_features, n_targets) = {(x.shape[1], y.shape[1])}"
            )
        alphas = np.asarray(self.alphas, dtype=float)
        groups = self._groups(mask)
        sse = np.zeros((y.shape[1], len(alphas)))
        folds = KFold(n_splits=self.cv, shuffle=True, random_state=self.cv_seed).split(x)
        for train, test in folds:
            sse += self._fold_sse(x[train], y[train], x[test], y[test], groups, alphas)
        best = np.argmin(sse, axis=1)
        self.alpha_ = np.where(mask.any(axis=0), alphas[best], np.nan)
        self.coef_, self.intercept_ = self._solve(x, y, groups, alphas, best)
        return self

    def _groups(self, mask):
        counts = mask.sum(axis=0)
        order = np.argsort(counts, kind="stable")
        order = order[counts[order] > 0]
        groups = []
        for start in range(0, len(order), self.chunk_size):
            cols = order[start:start + self.chunk_size]
            kmax = int(counts[cols].max())
            idx = np.zeros((len(cols), kmax), dtype=np.int64)
            valid = np.zeros((len(cols), kmax), dtype=bool)
            for r, j in enumerate(cols):
                par = np.flatnonzero(mask[:, j])
                idx[r, : len(par)] = par
                valid[r, : len(par)] = True
            groups.append((cols, idx, valid))
        return groups

    @staticmethod
    def _eig(xc, yc, cols, idx, valid):
        gram = xc.T @ xc
        g = gram[idx[:, :, None], idx[:, None, :]] * (valid[:, :, None] & valid[:, None, :])
        j_pad, k_pad = np.nonzero(~valid)
        g[j_pad, k_pad, k_pad] = 1.0  # padded coordinates: identity block, right-hand side 0 -> coefficient 0
        c = (xc.T @ yc[:, cols])[idx, np.arange(len(cols))[:, None]] * valid
        lam, vec = np.linalg.eigh(g)
        proj = np.einsum("jkl,jk->jl", vec, c)  # V^T c
        return lam, vec, proj

    def _fold_sse(self, xtr, ytr, xte, yte, groups, alphas):
        xm, ym = xtr.mean(axis=0), ytr.mean(axis=0)
        xc, yc = xtr - xm, ytr - ym
        sse = np.zeros((ytr.shape[1], len(alphas)))
        # targets without parents: predicted by the mean, same error for every alpha
        sse += (((yte - ym) ** 2).sum(axis=0))[:, None]
        xte_c = xte - xm
        for cols, idx, valid in groups:
            lam, vec, proj = self._eig(xc, yc, cols, idx, valid)
            xsub = xte_c[:, idx] * valid  # (n_test, targets, k)
            for a, alpha in enumerate(alphas):
                beta = np.einsum("jkl,jl->jk", vec, proj / (lam + alpha))
                pred = np.einsum("njk,jk->nj", xsub, beta) + ym[cols]
                sse[cols, a] = ((yte[:, cols] - pred) ** 2).sum(axis=0)
        return sse

    def _solve(self, x, y, groups, alphas, best):
        xm, ym = x.mean(axis=0), y.mean(axis=0)
        xc, yc = x - xm, y - ym
        coef = np.zeros((x.shape[1], y.shape[1]))
        for cols, idx, valid in groups:
            lam, vec, proj = self._eig(xc, yc, cols, idx, valid)
            alpha = alphas[best[cols]][:, None]
            beta = np.einsum("jkl,jl->jk", vec, proj / (lam + alpha)) * valid
            np.add.at(coef, (idx, np.broadcast_to(cols[:, None], idx.shape)), beta)
        intercept = ym - xm @ coef
        return coef, intercept
