"""XGBoost random-forest regressors for many targets.

XGBoost: Chen T, Guestrin C. KDD 2016, doi:10.1145/2939672.2939785. Random forests:
Breiman L. Mach Learn 45:5 (2001), doi:10.1023/A:1010933404324.

Multi-target fits use XGBoost's default ``multi_strategy="one_output_per_tree"``: every
target gets its own trees, so a model fitted on many targets equals (up to the random
row/column sampling) one fitted per target. The vector-leaf ``multi_output_tree``
strategy was tried and ran out of 24 GiB memory at 1,365 targets (Kang + CollecTRI), so
it is not used.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .base import GeneAwareMixin, search_validation, split_validation

__all__ = ["BatchedXGBRF", "TunedXGBRF", "DEFAULT_GRID"]

#: Grid searched by :class:`TunedXGBRF` unless ``param_grid`` is given.
DEFAULT_GRID = {"max_depth": [4, 6], "colsample_bynode": [0.3, 0.8]}


def _xgbrf(params: dict):
    import xgboost as xgb

    return xgb.XGBRFRegressor(**params)


def _r2_flat(y, p):
    from ..metrics.regression import r2_flat

    return r2_flat(y, p)


class BatchedXGBRF(GeneAwareMixin, RegressorMixin, BaseEstimator):
    """XGBoost random forest fitted on targets in batches (the LEMBAS-RNN seed's XGBRF).

    Each batch of ``batch_size`` targets is one multi-output
    :class:`xgboost.XGBRFRegressor` fit. With the defaults this is exactly the seed
    benchmark's model: ``n_estimators=3``, ``objective="reg:squarederror"``,
    ``random_state=888``, batches of 1,000 targets (Langridge 2026).

    Parameters
    ----------
    n_estimators : int
        Trees per target (XGBRF's ``num_parallel_tree``; one boosting round).
    max_depth, subsample, colsample_bynode, min_child_weight, reg_lambda, max_bin
        XGBoost tree parameters (XGBRF defaults except ``max_bin``).
    batch_size : int
        Targets per XGBoost fit.
    n_jobs : int
        Threads per fit.
    random_state : int
        XGBoost seed.
    """

    def __init__(self, n_estimators=3, max_depth=6, subsample=0.8, colsample_bynode=0.8, min_child_weight=1.0,
                 reg_lambda=1e-5, max_bin=256, batch_size=1000, n_jobs=2, random_state=888):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.subsample = subsample
        self.colsample_bynode = colsample_bynode
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _xgb_params(self) -> dict:
        return dict(n_estimators=self.n_estimators, max_depth=self.max_depth, subsample=self.subsample,
                    colsample_bynode=self.colsample_bynode, min_child_weight=self.min_child_weight,
                    reg_lambda=self.reg_lambda, max_bin=self.max_bin, objective="reg:squarederror",
                    tree_method="hist", n_jobs=self.n_jobs, random_state=self.random_state)

    def fit(self, X, Y, validation=None):
        """Fit one XGBRF per batch of targets. ``validation`` is ignored.

        Parameters
        ----------
        X : array-like, shape (n_cells, n_features)
        Y : array-like, shape (n_cells, n_targets)
        """
        x, y = self._record_genes(X, Y)
        self.batches_ = []
        self.models_ = []
        for start in range(0, y.shape[1], self.batch_size):
            cols = np.arange(start, min(start + self.batch_size, y.shape[1]))
            target = y[:, cols] if len(cols) > 1 else y[:, cols[0]]
            self.models_.append(_xgbrf(self._xgb_params()).fit(x, target))
            self.batches_.append(cols)
        return self

    def predict(self, X) -> np.ndarray:
        """Predict all targets, shape (n_cells, n_targets).

        Raises
        ------
        grnbench.errors.GeneMismatchError
            If the genes of ``X`` differ from those seen in ``fit``.
        """
        check_is_fitted(self, "models_")
        x = self._check_genes(X)
        out = np.empty((x.shape[0], self.n_targets_))
        for cols, model in zip(self.batches_, self.models_):
            out[:, cols] = np.asarray(model.predict(x)).reshape(x.shape[0], len(cols))
        return out


class TunedXGBRF(BatchedXGBRF):
    """XGBoost random forest with hyper-parameters chosen on validation cells.

    Every combination of ``param_grid`` is fitted on the training cells for a random subset
    of ``n_tune_targets`` targets and scored by flattened R² on the validation cells; the
    best combination is then fitted on all targets. Tuning on a target subset keeps the
    search affordable (each tree is per target) and uses validation cells only.

    Parameters
    ----------
    param_grid : dict of str -> list, optional
        Grid over :class:`BatchedXGBRF` parameters (default :data:`DEFAULT_GRID`).
    n_tune_targets : int
        Targets used while tuning.
    validation_fraction : float
        Share of training cells held out for tuning if ``fit`` gets no ``validation``.
    random_state : int
        Seed of XGBoost, the target subset and the internal validation split.
    n_estimators, max_depth, subsample, colsample_bynode, min_child_weight, reg_lambda, max_bin, batch_size, n_jobs
        :class:`BatchedXGBRF` parameters; the grid overrides some of them. ``max_bin=64``
        (XGBoost default 256) makes each tree about 3x faster on these data.

    Attributes
    ----------
    best_params_ : dict
        The chosen combination.
    tuning_ : list of dict
        Validation flattened R² (``val_score``) of every combination.
    """

    def __init__(self, param_grid=None, n_tune_targets=50, validation_fraction=0.15, n_estimators=20, max_depth=6,
                 subsample=0.8, colsample_bynode=0.8, min_child_weight=5.0, reg_lambda=1e-5, max_bin=64,
                 batch_size=1000, n_jobs=2, random_state=0):
        super().__init__(n_estimators=n_estimators, max_depth=max_depth, subsample=subsample,
                         colsample_bynode=colsample_bynode, min_child_weight=min_child_weight, reg_lambda=reg_lambda,
                         max_bin=max_bin, batch_size=batch_size, n_jobs=n_jobs, random_state=random_state)
        self.param_grid = param_grid
        self.n_tune_targets = n_tune_targets
        self.validation_fraction = validation_fraction

    def fit(self, X, Y, validation=None):
        """Tune on validation cells, then fit the best setting on all targets.

        Parameters
        ----------
        X : array-like, shape (n_cells, n_features)
        Y : array-like, shape (n_cells, n_targets)
        validation : tuple (X_val, Y_val), optional
            Validation cells; if None, ``validation_fraction`` of ``X`` is held out.
        """
        x, y = self._record_genes(X, Y)
        rng = np.random.default_rng(self.random_state)
        x_tr, y_tr, x_val, y_val = split_validation(x, y, validation, self.validation_fraction, rng,
                                                    self._check_genes)
        cols = np.sort(rng.choice(y.shape[1], size=min(self.n_tune_targets, y.shape[1]), replace=False))

        def fit_and_score(params):
            trial = BatchedXGBRF(**{**self._base_params(), **params}).fit(x_tr, y_tr[:, cols])
            return _r2_flat(y_val[:, cols], trial.predict(x_val)), trial

        self.best_params_, _, self.tuning_ = search_validation(self.param_grid or DEFAULT_GRID, fit_and_score)
        final = BatchedXGBRF(**{**self._base_params(), **self.best_params_}).fit(x, y)
        self.models_, self.batches_ = final.models_, final.batches_
        return self

    def _base_params(self) -> dict:
        keys = BatchedXGBRF().get_params().keys()
        return {k: v for k, v in self.get_params().items() if k in keys}

