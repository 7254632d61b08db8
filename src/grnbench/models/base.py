"""Shared pieces of grnbench estimators: gene-name checks, seeding, torch threads.

Every grnbench model is a scikit-learn estimator: ``__init__`` stores hyper-parameters
only, ``fit`` seeds from ``random_state``, builds fitted attributes (ending in ``_``) and
returns ``self``, so ``clone(est).set_params(random_state=s).fit(...)`` serves all models.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from ..errors import GeneMismatchError, format_names

__all__ = ["GeneAwareMixin", "torch_threads", "torch_deterministic", "seed_everything", "show_progress", "search_validation",
           "split_validation"]


def search_validation(grid: dict, fit_and_score: Callable[[dict], tuple[float, object]]):
    """Exhaustive search over ``grid``, scored on validation data (higher is better).

    Parameters
    ----------
    grid : dict of str -> list
        Parameter values to combine.
    fit_and_score : callable
        ``fit_and_score(params) -> (validation_score, fitted_model)``.

    Returns
    -------
    best_params : dict
    best_model : object
        The model returned for ``best_params`` (ties: the first combination).
    table : list of dict
        Every combination with its ``val_score``.
    """
    names = sorted(grid)
    best, table = None, []
    for values in itertools.product(*(grid[k] for k in names)):
        params = dict(zip(names, values))
        score, model = fit_and_score(params)
        table.append({**params, "val_score": float(score)})
        if best is None or score > best[0]:
            best = (score, params, model)
    return best[1], best[2], table


def split_validation(x, y, validation, fraction: float, rng: np.random.Generator, check):
    """Return ``(x_train, y_train, x_val, y_val)``: the given validation cells, or a random share.

    Parameters
    ----------
    x, y : ndarray
        Training cells.
    validation : tuple (X_val, Y_val) or None
        Validation cells supplied by the task's split.
    fraction : float
        Share of ``x`` held out when ``validation`` is None.
    rng : numpy.random.Generator
        Seeded generator for the hold-out.
    check : callable
        The estimator's gene check for ``X_val`` (``GeneAwareMixin._check_genes``).
    """
    if validation is None:
        perm = rng.permutation(x.shape[0])
        n_val = max(2, int(round(fraction * x.shape[0])))
        return x[perm[n_val:]], y[perm[n_val:]], x[perm[:n_val]], y[perm[:n_val]]
    x_val = check(validation[0])
    y_val = np.asarray(validation[1], dtype=float).reshape(x_val.shape[0], -1)
    return x, y, x_val, y_val


def show_progress(progress: bool | None) -> bool:
    """Whether to draw tqdm progress bars.

    ``progress=None`` means: yes, unless ``$GRNBENCH_PROGRESS`` is ``0`` (the runner sets
    it for papermill, so executed notebooks stay free of progress-bar output).
    """
    if progress is not None:
        return bool(progress)
    return os.environ.get("GRNBENCH_PROGRESS", "1") != "0"


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run a block with ``torch.set_num_threads(n)`` and restore the previous value.

    One thread makes CPU results bit-for-bit repeatable (nbval re-executes notebooks).
    """
    import torch

    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def torch_deterministic() -> Iterator[None]:
    """Run a block with torch's deterministic algorithms on, then restore the previous settings.

    Uninitialised memory is *not* filled with NaN (torch's default under deterministic mode):
    every kernel used here overwrites its output, and the fill cost about 20% of a CaTran step.
    """
    import torch
    import torch.utils.deterministic as det

    old = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
           det.fill_uninitialized_memory)
    torch.use_deterministic_algorithms(True, warn_only=True)
    det.fill_uninitialized_memory = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(old[0], warn_only=old[1])
        det.fill_uninitialized_memory = old[2]


def seed_everything(seed: int | None) -> np.random.Generator:
    """Seed torch's global generator and return a numpy Generator for ``seed``.

    Parameters
    ----------
    seed : int or None
        ``None`` is treated as 0 so that fits stay repeatable.
    """
    import torch

    seed = 0 if seed is None else int(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


class EarlyStopping:
    """Keep the module state with the lowest validation loss; stop after ``patience`` epochs without a gain.

    Parameters
    ----------
    patience : int
        Epochs without an improvement of more than ``min_delta`` before :meth:`step` says stop.
    min_delta : float
        Smallest decrease of the validation loss that counts as an improvement.

    Attributes
    ----------
    best : float
        Lowest validation loss so far.
    best_epoch : int or None
        Epoch of ``best``.
    """

    def __init__(self, patience: int, min_delta: float = 1e-6):
        self.patience = patience
        self.min_delta = min_delta
        self.best, self.best_epoch, self._state, self._wait = np.inf, None, None, 0

    def step(self, module, val_loss: float, epoch: int) -> bool:
        """Record one epoch; return True when training should stop."""
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch, self._wait = val_loss, epoch, 0
            self._state = copy.deepcopy(module.state_dict())
            return False
        self._wait += 1
        return self._wait >= self.patience

    def restore(self, module) -> None:
        """Load the best state into ``module`` and switch it to evaluation mode."""
        module.load_state_dict(self._state)
        module.eval()


class GeneAwareMixin:
    """Record gene names at fit time and check them at predict time.

    If ``fit`` receives a :class:`pandas.DataFrame`, its columns are stored as
    ``feature_names_in_`` (scikit-learn's convention) and, for a DataFrame target,
    ``target_names_``. At predict time a DataFrame with the same genes in another order is
    reordered; one whose genes differ raises :class:`~grnbench.errors.GeneMismatchError`
    naming the missing and extra genes (the LEMBAS-RNN seed's opaque
    "size mismatch for input_layer.weights" failure, done right).
    """

    def _record_genes(self, X, Y=None) -> tuple[np.ndarray, np.ndarray | None]:
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns.astype(str), dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        x = np.asarray(X, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"X must be 2-D (cells x genes), got shape {x.shape}")
        self.n_features_in_ = x.shape[1]
        y = None
        if Y is not None:
            if isinstance(Y, pd.DataFrame):
                self.target_names_ = np.asarray(Y.columns.astype(str), dtype=object)
            y = np.asarray(Y, dtype=np.float64)
            if y.ndim == 1:
                y = y[:, None]
            if y.shape[0] != x.shape[0]:
                raise ValueError(f"X has {x.shape[0]} cells but Y has {y.shape[0]}")
            self.n_targets_ = y.shape[1]
        return x, y

    def _check_genes(self, X) -> np.ndarray:
        names = getattr(self, "feature_names_in_", None)
        if names is not None and isinstance(X, pd.DataFrame):
            cols = pd.Index(X.columns.astype(str))
            fitted = pd.Index(names)
            if not cols.equals(fitted):
                missing = fitted.difference(cols, sort=False)
                extra = cols.difference(fitted, sort=False)
                if len(missing) or len(extra):
                    parts = []
                    if len(missing):
                        parts.append(f"missing gene(s) {format_names(missing)}")
                    if len(extra):
                        parts.append(f"extra gene(s) {format_names(extra)}")
                    raise GeneMismatchError(
                        f"{type(self).__name__} was fitted on {len(fitted)} input genes; the new data have "
                        f"{len(cols)}: " + "; ".join(parts) + ". Refit the model or select the fitted genes "
                        "(`X[model.feature_names_in_]`)."
                    )
                X = X.loc[:, list(fitted)]
        x = np.asarray(X, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features_in_:
            shown = f" ({format_names(names)})" if names is not None else ""
            raise GeneMismatchError(
                f"{type(self).__name__} was fitted on {self.n_features_in_} input genes{shown}; "
                f"got an array of shape {x.shape}"
            )
        return x
