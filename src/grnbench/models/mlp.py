"""A multi-output MLP regressor in PyTorch with early stopping.

Maps all TFs to all targets at once (shared hidden layers). Inputs and outputs are
standardised with training statistics; training minimises the mean squared error of the
standardised targets with Adam (Kingma & Ba 2015, arXiv:1412.6980) and stops when the
validation loss has not improved for ``patience`` epochs, keeping the best weights
(Prechelt 1998, doi:10.1007/3-540-49430-8_3).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from .device import resolve_device
from .base import (EarlyStopping, GeneAwareMixin, search_validation, seed_everything, show_progress, split_validation,
                   torch_threads)

__all__ = ["MLPRegressor"]


def _r2_flat(y, p):
    from ..metrics.regression import r2_flat

    return r2_flat(y, p)


class MLPRegressor(GeneAwareMixin, RegressorMixin, BaseEstimator):
    """Feed-forward network, all TFs -> all targets, early stopping on validation loss.

    Parameters
    ----------
    hidden : tuple of int
        Hidden layer widths.
    dropout : float
        Dropout after each hidden layer.
    lr : float
        Adam learning rate.
    weight_decay : float
        Adam L2 penalty.
    batch_size : int
        Cells per minibatch.
    max_epochs : int
        Upper bound on epochs.
    patience : int
        Epochs without validation improvement before stopping.
    validation_fraction : float
        Share of training cells held out for early stopping if ``fit`` gets no ``validation``.
    param_grid : dict of str -> list, optional
        If given, every combination is trained (early stopping on the validation cells) and
        the one with the best validation flattened R² is kept (``best_params_``, ``tuning_``).
    n_threads : int
        Torch CPU threads during fit/predict (1 makes results bit-for-bit repeatable).
    progress : bool or None
        tqdm progress bar over epochs (None: see :func:`grnbench.models.base.show_progress`).
    random_state : int
        Seed of initialisation, minibatch order, dropout and the internal validation split.
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``
        (:func:`grnbench.models.device.resolve_device`); the fitted network is kept on the CPU.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network (on standardised inputs/outputs).
    history_ : list of tuple
        (train_loss, val_loss) per epoch, standardised MSE.
    best_epoch_ : int
        Epoch whose weights were kept.
    device_ : str
        Where it trained.
    """

    def __init__(self, hidden=(256,), dropout=0.1, lr=1e-3, weight_decay=1e-4, batch_size=64, max_epochs=300,
                 patience=20, validation_fraction=0.15, param_grid=None, n_threads=1, progress=None, random_state=0,
                 device="auto"):
        self.hidden = hidden
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.param_grid = param_grid
        self.n_threads = n_threads
        self.progress = progress
        self.random_state = random_state
        self.device = device

    def _build(self, n_in: int, n_out: int):
        import torch.nn as nn

        layers, width = [], n_in
        for h in self.hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(self.dropout)]
            width = h
        layers.append(nn.Linear(width, n_out))
        return nn.Sequential(*layers)

    def fit(self, X, Y, validation=None):
        """Train with early stopping (and pick hyper-parameters on validation if ``param_grid``).

        Parameters
        ----------
        X : array-like, shape (n_cells, n_features)
            TF expression (log scale).
        Y : array-like, shape (n_cells, n_targets)
            Target expression (log scale).
        validation : tuple (X_val, Y_val), optional
            Cells for early stopping and tuning; if None, ``validation_fraction`` of ``X``
            is held out.
        """
        x, y = self._record_genes(X, Y)
        rng = np.random.default_rng(0 if self.random_state is None else self.random_state)
        x, y, x_val, y_val = split_validation(x, y, validation, self.validation_fraction, rng, self._check_genes)
        if not self.param_grid:
            self._train(x, y, x_val, y_val)
            return self

        def fit_and_score(params):
            trial = clone(self).set_params(param_grid=None, **params)
            trial.n_features_in_ = self.n_features_in_
            trial._train(x, y, x_val, y_val)
            return _r2_flat(y_val, trial._predict_array(x_val)), trial

        self.best_params_, best, self.tuning_ = search_validation(self.param_grid, fit_and_score)
        for attr in ("x_mean_", "x_std_", "y_mean_", "y_std_", "module_", "history_", "best_epoch_", "device_"):
            setattr(self, attr, getattr(best, attr))
        return self

    def _train(self, x, y, x_val, y_val):
        import torch
        from tqdm.auto import tqdm

        dev = resolve_device(self.device)
        with torch_threads(self.n_threads):
            seed_everything(self.random_state)
            self.x_mean_, self.x_std_ = x.mean(0), _safe_std(x)
            self.y_mean_, self.y_std_ = y.mean(0), _safe_std(y)
            xt = torch.as_tensor((x - self.x_mean_) / self.x_std_, dtype=torch.float32)
            yt = torch.as_tensor((y - self.y_mean_) / self.y_std_, dtype=torch.float32)
            xv = torch.as_tensor((x_val - self.x_mean_) / self.x_std_, dtype=torch.float32)
            yv = torch.as_tensor((y_val - self.y_mean_) / self.y_std_, dtype=torch.float32)
            xt, yt, xv, yv = (t.to(dev) for t in (xt, yt, xv, yv))
            module = self._build(x.shape[1], y.shape[1]).to(dev)
            opt = torch.optim.Adam(module.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            gen = torch.Generator().manual_seed(int(self.random_state or 0))
            stopper = EarlyStopping(self.patience, min_delta=1e-6)
            self.history_ = []
            bar = tqdm(range(self.max_epochs), desc="MLP", disable=not show_progress(self.progress), leave=False)
            for epoch in bar:
                module.train()
                order = torch.randperm(xt.shape[0], generator=gen)
                total = 0.0
                for start in range(0, xt.shape[0], self.batch_size):
                    idx = order[start:start + self.batch_size]
                    opt.zero_grad()
                    loss = torch.mean((module(xt[idx]) - yt[idx]) ** 2)
                    loss.backward()
                    opt.step()
                    total += loss.item() * len(idx)
                module.eval()
                with torch.no_grad():
                    val = float(torch.mean((module(xv) - yv) ** 2))
                self.history_.append((total / xt.shape[0], val))
                bar.set_postfix(val=f"{val:.3f}")
                if stopper.step(module, val, epoch):
                    break
            stopper.restore(module)
            self.best_epoch_ = stopper.best_epoch
        self.module_, self.device_ = module.to("cpu"), str(dev)

    def torch_model(self, target: int | None = None):
        """A torch module mapping raw TF expression to raw predictions (for SHAP gradients).

        Parameters
        ----------
        target : int, optional
            Keep only this output column (shape (n, 1)); all targets if None.

        Returns
        -------
        torch.nn.Module
            Standardisation, the trained network and de-standardisation in one module.
        """
        import torch
        import torch.nn as nn

        check_is_fitted(self, "module_")
        est = self

        class _Wrapped(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = est.module_
                cols = slice(None) if target is None else slice(target, target + 1)
                self.register_buffer("xm", torch.as_tensor(est.x_mean_, dtype=torch.float32))
                self.register_buffer("xs", torch.as_tensor(est.x_std_, dtype=torch.float32))
                self.register_buffer("ym", torch.as_tensor(est.y_mean_[cols], dtype=torch.float32))
                self.register_buffer("ys", torch.as_tensor(est.y_std_[cols], dtype=torch.float32))
                self.cols = cols

            def forward(self, x):
                return self.net((x - self.xm) / self.xs)[:, self.cols] * self.ys + self.ym

        return _Wrapped().eval()

    def predict(self, X) -> np.ndarray:
        """Predict all targets (log scale), shape (n_cells, n_targets).

        Raises
        ------
        grnbench.errors.GeneMismatchError
            If the genes of ``X`` differ from those seen in ``fit``.
        """
        check_is_fitted(self, "module_")
        return self._predict_array(self._check_genes(X))

    def _predict_array(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch_threads(self.n_threads), torch.no_grad():
            out = self.module_(torch.as_tensor((x - self.x_mean_) / self.x_std_, dtype=torch.float32)).numpy()
        return out.astype(np.float64) * self.y_std_ + self.y_mean_


def _safe_std(a: np.ndarray) -> np.ndarray:
    sd = a.std(axis=0)
    return np.where(sd > 0, sd, 1.0)
