"""A multi-output MLP regressor in PyTorch with early stopping.

Maps all TFs to all targets at once (shared hidden layers). Inputs and outputs are
standardised with training statistics; training minimises the mean squared error of the
standardised targets with Adam (Kingma & Ba 2015, arXiv:1412.6980) and stops when the
validation loss has not improved for ``patience`` epochs, keeping the best weights
(Prechelt 1998, doi:10.1007/3-540-49430-8_3).
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .base import GeneAwareMixin, seed_everything, show_progress, torch_threads

__all__ = ["MLPRegressor"]


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
    n_threads : int
        Torch CPU threads during fit/predict (1 makes results bit-for-bit repeatable).
    progress : bool or None
        tqdm progress bar over epochs (None: see :func:`grnbench.models.base.show_progress`).
    random_state : int
        Seed of initialisation, minibatch order, dropout and the internal validation split.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network (on standardised inputs/outputs).
    history_ : list of tuple
        (train_loss, val_loss) per epoch, standardised MSE.
    best_epoch_ : int
        Epoch whose weights were kept.
    """

    def __init__(self, hidden=(256,), dropout=0.1, lr=1e-3, weight_decay=1e-4, batch_size=64, max_epochs=300,
                 patience=20, validation_fraction=0.15, n_threads=1, progress=None, random_state=0):
        self.hidden = hidden
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_threads = n_threads
        self.progress = progress
        self.random_state = random_state

    def _build(self, n_in: int, n_out: int):
        import torch.nn as nn

        layers, width = [], n_in
        for h in self.hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(self.dropout)]
            width = h
        layers.append(nn.Linear(width, n_out))
        return nn.Sequential(*layers)

    def fit(self, X, Y, validation=None):
        """Train with early stopping.

        Parameters
        ----------
        X : array-like, shape (n_cells, n_features)
            TF expression (log scale).
        Y : array-like, shape (n_cells, n_targets)
            Target expression (log scale).
        validation : tuple (X_val, Y_val), optional
            Cells for early stopping; if None, ``validation_fraction`` of ``X`` is held out.
        """
        import torch
        from tqdm.auto import tqdm

        x, y = self._record_genes(X, Y)
        with torch_threads(self.n_threads):
            rng = seed_everything(self.random_state)
            if validation is None:
                perm = rng.permutation(x.shape[0])
                n_val = max(2, int(round(self.validation_fraction * x.shape[0])))
                x_val, y_val, x, y = x[perm[:n_val]], y[perm[:n_val]], x[perm[n_val:]], y[perm[n_val:]]
            else:
                x_val = self._check_genes(validation[0])
                y_val = np.asarray(validation[1], dtype=float).reshape(x_val.shape[0], -1)
            self.x_mean_, self.x_std_ = x.mean(0), _safe_std(x)
            self.y_mean_, self.y_std_ = y.mean(0), _safe_std(y)
            xt = torch.as_tensor((x - self.x_mean_) / self.x_std_, dtype=torch.float32)
            yt = torch.as_tensor((y - self.y_mean_) / self.y_std_, dtype=torch.float32)
            xv = torch.as_tensor((x_val - self.x_mean_) / self.x_std_, dtype=torch.float32)
            yv = torch.as_tensor((y_val - self.y_mean_) / self.y_std_, dtype=torch.float32)
            module = self._build(x.shape[1], y.shape[1])
            opt = torch.optim.Adam(module.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            gen = torch.Generator().manual_seed(int(self.random_state or 0))
            best, best_state, wait = np.inf, None, 0
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
                if val < best - 1e-6:
                    best, best_state, wait = val, copy.deepcopy(module.state_dict()), 0
                    self.best_epoch_ = epoch
                else:
                    wait += 1
                    if wait >= self.patience:
                        break
            module.load_state_dict(best_state)
            module.eval()
        self.module_ = module
        return self

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
        import torch

        check_is_fitted(self, "module_")
        x = self._check_genes(X)
        with torch_threads(self.n_threads), torch.no_grad():
            out = self.module_(torch.as_tensor((x - self.x_mean_) / self.x_std_, dtype=torch.float32)).numpy()
        return out.astype(np.float64) * self.y_std_ + self.y_mean_


def _safe_std(a: np.ndarray) -> np.ndarray:
    sd = a.std(axis=0)
    return np.where(sd > 0, sd, 1.0)
