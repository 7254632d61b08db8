"""The LEMBAS estimator (scikit-learn regressor); the training loop is in :mod:`.trainer`."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ....errors import DataValidationError, format_names
from ....models.base import GeneAwareMixin, seed_everything, show_progress, torch_threads
from .numerics import SteadyState, network_structure, one_cycle_lr, spectral_radius, spectral_target
from .trainer import Trainer, span

__all__ = ["LembasRegressor"]


class LembasRegressor(GeneAwareMixin, RegressorMixin, BaseEstimator):
    """LEMBAS recurrent network on a signed prior network (scikit-learn regressor).

    Parameters
    ----------
    network : pandas.DataFrame
        Prior edges ``source, target, weight[, sign_known]`` among the modelled genes; the
        weight's sign is the mode of regulation (unknown signs are not constrained).
    inputs, outputs : list of str, optional
        Input and output nodes; default: the columns of ``X`` and ``Y`` given to ``fit``.
    max_steps : int
        Forward iterations at most.
    tol : float
        Stop when max |Δh| falls below it.
    target_steps : int
        ``T`` in the spectral target ``exp(ln(epsilon) / T)``.
    epsilon : float
        Precision in the spectral target (LEMBAS: 1e-4; the seed's ``tolerance`` 1e-20).
    exp_factor : float
        ``k`` of the spectral penalty ``lambda * exp(-k rho_t) * (exp(k rho) - 1)`` (rho > 0.5).
    leak : float
        MML slope below zero.
    input_amplitude, output_amplitude : float
        Initial ``a_in`` (frozen) and ``a_out`` (trained, penalised towards its start).
    spectral_factor, sign_factor, l2 : float
        Weights of the spectral, mode-of-action and L2 penalties.
    lr : float
        Peak learning rate of the one-cycle schedule (Adam; :func:`one_cycle_lr`).
    lr_start, lr_end : float, optional
        First and last learning rates (default ``lr / 10`` and ``lr / 100``).
    peak_fraction : float
        Share of the epochs before the peak learning rate (LEMBAS: 1,000 of 8,000).
    updates, batch_size : int
        Training length in minibatch updates (whole epochs, at least ``updates``) and samples
        per minibatch.
    epochs : int, optional
        Training length in epochs (overrides ``updates``; the paper: 8,000).
    adam_reset_epochs : int, optional
        Reset Adam's moment estimates every this many epochs (the paper: 200).
    uniform_factor : float
        Weight of :func:`uniform_state_loss` on every node's states over the training samples
        (the paper: 1e-5; 0 disables it).
    input_bias_factor : float
        L2 weight on the biases of the input nodes (the paper's ligand constraint, 1e-4).
    clip : float, optional
        Soft-clip the adjoint with tanh beyond ``+/- clip`` (the paper: 5).
    scale_data : bool
        Min-max scale inputs and outputs per gene on the training samples (expression data);
        False fits the values as they are (the ligand screen's [0, 1] activities).
    output_bias : bool
        Learn a bias per output next to the output amplitude (False: the paper's weights-only
        projection).
    stop_epoch : int, optional
        Stop after this many epochs of the ``epochs``-long schedule (a point on its learning curve).
    restore_best : bool
        With ``validation``: keep the parameters of the epoch with the lowest validation loss.
    record_every : int, optional
        With ``validation``: keep the validation predictions every this many epochs
        (``checkpoints_``), for learning curves.
    warm_start : bool
        Start each training sample's fixed-point iteration from its steady state of the previous
        epoch, and its adjoint iteration from its previous adjoint (the same fixed points within
        ``tol`` and ``bwd_tol``, reached in fewer iterations; leave it off when ``max_steps``
        truncates the iteration on purpose, as ``lembas_seed`` does).
    input_noise : float
        Standard deviation of noise added to the projected inputs during training.
    bwd_steps, bwd_tol : int, float
        Limits of the adjoint iteration.
    n_threads : int
        Torch threads.
    progress : bool, optional
        tqdm bar over epochs.
    random_state : int
        Seed of initialisation, batches and noise.

    Attributes
    ----------
    nodes_ : list of str
        Node order.
    history_ : pandas.DataFrame
        Per epoch: fit and validation loss (MSE on the fitted scale), spectral radius, sign
        violations, learning rate.
    best_epoch_ : int
        Epoch whose parameters were kept (with ``validation``).
    checkpoints_ : dict
        Epoch -> validation predictions on the data's scale (with ``record_every``).
    fit_seconds_, updates_per_second_ : float
    spectral_fallbacks_ : int
        Updates whose warm-started eigen-solve fell back to ARPACK.

    Notes
    -----
    Everything runs in float64 (as the paper). The fixed point and its adjoint are compiled
    loops over the sparse weights; the spectral penalty's eigenpair is warm-started from the
    previous update (:class:`SpectralTracker`) instead of a fresh ARPACK run per update.
    Unlike the other torch estimators it takes no ``device``: training never runs in torch (the
    numba kernels and ARPACK are CPU code); torch only wraps the trained network for SHAP.
    """

    def __init__(self, network=None, inputs=None, outputs=None, max_steps=150, tol=1e-6, target_steps=150,
                 epsilon=1e-4, exp_factor=20.0, leak=0.01, input_amplitude=1.2, output_amplitude=1.2,
                 spectral_factor=1e-3, sign_factor=0.1, l2=1e-6, lr=1e-2, lr_start=None, lr_end=None,
                 peak_fraction=0.125, updates=400, batch_size=64, epochs=None, adam_reset_epochs=None,
                 uniform_factor=0.0, input_bias_factor=0.0, clip=None, scale_data=True, output_bias=True,
                 stop_epoch=None, restore_best=True, record_every=None, warm_start=False, input_noise=1e-3, bwd_steps=150, bwd_tol=1e-6, n_threads=1, progress=None, random_state=0):
        self.network = network
        self.inputs = inputs
        self.outputs = outputs
        self.max_steps = max_steps
        self.tol = tol
        self.target_steps = target_steps
        self.epsilon = epsilon
        self.exp_factor = exp_factor
        self.leak = leak
        self.input_amplitude = input_amplitude
        self.output_amplitude = output_amplitude
        self.spectral_factor = spectral_factor
        self.sign_factor = sign_factor
        self.l2 = l2
        self.lr = lr
        self.lr_start = lr_start
        self.lr_end = lr_end
        self.peak_fraction = peak_fraction
        self.updates = updates
        self.batch_size = batch_size
        self.epochs = epochs
        self.adam_reset_epochs = adam_reset_epochs
        self.uniform_factor = uniform_factor
        self.input_bias_factor = input_bias_factor
        self.clip = clip
        self.scale_data = scale_data
        self.output_bias = output_bias
        self.stop_epoch = stop_epoch
        self.restore_best = restore_best
        self.record_every = record_every
        self.warm_start = warm_start
        self.input_noise = input_noise
        self.bwd_steps = bwd_steps
        self.bwd_tol = bwd_tol
        self.n_threads = n_threads
        self.progress = progress
        self.random_state = random_state

    # ------------------------------------------------------------------ structure
    def _structure(self, in_names, out_names):
        if self.network is None:
            raise DataValidationError("LembasRegressor needs a `network` (source, target, weight) table")
        net = self.network
        missing = [c for c in ("source", "target", "weight") if c not in net.columns]
        if missing:
            raise DataValidationError(f"LEMBAS network: missing column(s) {format_names(missing)}")
        nodes = list(dict.fromkeys([*in_names, *out_names, *net["source"].astype(str), *net["target"].astype(str)]))
        index = {g: i for i, g in enumerate(nodes)}
        src = net["source"].astype(str).map(index).to_numpy()
        dst = net["target"].astype(str).map(index).to_numpy()
        sign = np.sign(net["weight"].to_numpy(dtype=float))
        if "sign_known" in net.columns:
            sign = np.where(net["sign_known"].to_numpy(bool), sign, 0.0)
        reached = set(dst) | set(index[g] for g in in_names)
        unreachable = [g for g in out_names if index[g] not in reached]
        if unreachable:
            raise DataValidationError(
                f"LEMBAS network: output gene(s) {format_names(unreachable)} have no incoming prior edge"
            )
        return nodes, src, dst, sign, np.array([index[g] for g in in_names]), np.array([index[g] for g in out_names])

    def _net(self, n):
        if getattr(self, "_structure_cache", None) is None:
            self._structure_cache = network_structure(self.src_, self.dst_, n)
        return {**self._structure_cache, "leak": self.leak, "max_steps": self.max_steps, "tol": self.tol,
                "bwd_steps": self.bwd_steps, "bwd_tol": self.bwd_tol, "clip": self.clip}

    def _init_params(self, rng):
        import torch

        n, e = len(self.nodes_), len(self.src_)
        sign = np.where(self.sign_ == 0, 1.0, self.sign_)
        w = rng.uniform(0.1, 0.2, size=e) * sign
        has_in = np.zeros(n, dtype=bool)
        has_act = np.zeros(n, dtype=bool)
        has_in[self.dst_] = True
        has_act[self.dst_[sign > 0]] = True
        inhibited_only = has_in & ~has_act
        b = np.where(inhibited_only, 1.0, 1e-3)
        rho = spectral_radius(w, self.src_, self.dst_, n) if e else 0.0
        if rho > 0:
            w = w * (0.7 / rho)  # LEMBAS preScaleWeights(0.7)
        dtype = torch.float64
        self.w_ = torch.nn.Parameter(torch.as_tensor(w, dtype=dtype))
        self.b_ = torch.nn.Parameter(torch.as_tensor(b, dtype=dtype))
        self.a_out_ = torch.nn.Parameter(torch.full((len(self.out_idx_),), float(self.output_amplitude), dtype=dtype))
        self.c_out_ = torch.nn.Parameter(torch.zeros(len(self.out_idx_), dtype=dtype), requires_grad=self.output_bias)

    # ------------------------------------------------------------------ forward
    def _forward(self, x_scaled, noise=None, h0=None):
        import torch

        n = len(self.nodes_)
        u = torch.zeros((x_scaled.shape[0], n), dtype=self.w_.dtype)
        u[:, torch.as_tensor(self.in_idx_)] = self.input_amplitude * x_scaled.to(self.w_.dtype)
        if noise is not None:
            u = u + noise
        net = self._net(n)
        if h0 is not None:
            net["h0"] = h0.T
        h = SteadyState.apply(self.w_, self.b_, u, net)
        y = self.a_out_ * h[:, torch.as_tensor(self.out_idx_)] + self.c_out_
        return y, h, u, net

    def _scales(self, x, y):
        if self.scale_data:
            self.x_min_, self.x_span_ = x.min(0), span(x)
            self.y_min_, self.y_span_ = y.min(0), span(y)
        else:
            self.x_min_, self.x_span_ = np.zeros(x.shape[1]), np.ones(x.shape[1])
            self.y_min_, self.y_span_ = np.zeros(y.shape[1]), np.ones(y.shape[1])

    def fit(self, X, Y, validation=None):
        """Train with Adam and a one-cycle learning rate (LEMBAS's schedule and penalties).

        Parameters
        ----------
        X : DataFrame, shape (n_samples, n_inputs)
            Input-node values (TF expression, log scale; or ligand inputs).
        Y : DataFrame, shape (n_samples, n_outputs)
            Output-node values (target expression, log scale; or TF activities).
        validation : tuple (X_val, Y_val), optional
            If given, the validation loss is computed after every epoch and the parameters
            of the best epoch are kept (``best_epoch_``); the schedule itself is fixed.

        Raises
        ------
        grnbench.errors.DataValidationError
            If the network lacks columns, or an output gene has no incoming prior edge.

        Notes
        -----
        One update is a forward fixed point, its adjoint and the analytic gradients of every
        loss term in numpy/numba (no autograd graph), then an Adam step; the gradients equal
        those of :class:`SteadyState` under torch autograd (tested).
        """
        import torch
        from threadpoolctl import threadpool_limits
        from tqdm.auto import tqdm

        x, y = self._record_genes(X, Y)
        in_names = list(self.inputs) if self.inputs is not None else list(getattr(self, "feature_names_in_", []))
        out_names = list(self.outputs) if self.outputs is not None else list(getattr(self, "target_names_", []))
        if len(in_names) != x.shape[1] or len(out_names) != y.shape[1]:
            raise DataValidationError("LembasRegressor needs gene names: fit on DataFrames or pass inputs/outputs")
        t0 = time.perf_counter()
        # one thread for torch and for BLAS: the eigen-solver's small products are slower multi-threaded
        with torch_threads(self.n_threads), threadpool_limits(limits=self.n_threads):
            rng = seed_everything(self.random_state)
            self.nodes_, self.src_, self.dst_, self.sign_, self.in_idx_, self.out_idx_ = self._structure(in_names,
                                                                                                          out_names)
            self._structure_cache = None
            self._scales(x, y)
            xs = (x - self.x_min_) / self.x_span_
            ys = (y - self.y_min_) / self.y_span_
            self._init_params(rng)
            trainer = Trainer(self, xs, ys, rng)
            n_batches = math.ceil(len(xs) / self.batch_size)
            epochs = int(self.epochs) if self.epochs else max(1, math.ceil(self.updates / n_batches))
            lr_start = self.lr_start if self.lr_start is not None else self.lr / 10
            lr_end = self.lr_end if self.lr_end is not None else self.lr / 100
            peak_epoch = int(round(self.peak_fraction * epochs))
            if validation is not None:
                xv = (self._check_genes(validation[0]) - self.x_min_) / self.x_span_
                yv = (np.asarray(validation[1], dtype=float) - self.y_min_) / self.y_span_
            best_val, best_state = float("inf"), None
            rows, self.checkpoints_ = [], {}
            n_epochs = min(epochs, int(self.stop_epoch)) if self.stop_epoch else epochs
            bar = tqdm(range(n_epochs), desc="LEMBAS", disable=not show_progress(self.progress), leave=False)
            for epoch in bar:
                lr = one_cycle_lr(epoch, epochs, self.lr, lr_start, lr_end, peak_epoch)
                fit_losses, rhos = trainer.epoch(lr)
                if self.adam_reset_epochs and epoch > 0 and epoch % self.adam_reset_epochs == 0:
                    trainer.reset_adam()  # LEMBAS: optimizer.state = resetState
                val_loss = float("nan")
                if validation is not None:
                    pv = trainer.predict(xv)
                    val_loss = float(np.mean((pv - yv) ** 2))
                    if val_loss < best_val:
                        best_val, self.best_epoch_ = val_loss, epoch
                        best_state = trainer.snapshot() if self.restore_best else None
                    if self.record_every and ((epoch + 1) % self.record_every == 0 or epoch + 1 == n_epochs):
                        self.checkpoints_[epoch + 1] = pv * self.y_span_ + self.y_min_
                rows.append({"epoch": epoch, "fit_loss": float(np.mean(fit_losses)), "val_loss": val_loss,
                             "spectral_radius": float(np.mean(rhos)) if rhos else 0.0,
                             "sign_violations": trainer.violations(), "lr": lr})
                bar.set_postfix(loss=f"{rows[-1]['fit_loss']:.4f}", rho=f"{rows[-1]['spectral_radius']:.2f}")
            if best_state is not None:
                trainer.restore(best_state)
            trainer.to_torch()
        self.history_ = pd.DataFrame(rows)
        self.fit_seconds_ = time.perf_counter() - t0
        self.updates_per_second_ = n_epochs * n_batches / self.fit_seconds_
        self.spectral_fallbacks_ = trainer.tracker.fallbacks
        self.spectral_target_ = spectral_target(self.epsilon, self.target_steps)
        _ = torch
        return self

    def steady_state(self, X) -> pd.DataFrame:
        """Forward pass diagnostics per cell: steps used (shared by the batch) and residual.

        Returns
        -------
        pandas.DataFrame
            ``residual`` (max |Δh| of the last iteration, per cell) and ``steps``.
        """
        self.predict(X)
        stats = self.last_forward_
        return pd.DataFrame({"residual": stats["residual"], "steps": stats["steps"]})

    def predict(self, X) -> np.ndarray:
        """Predict output-node expression on the data's scale, shape (n_cells, n_outputs).

        Raises
        ------
        grnbench.errors.GeneMismatchError
            If the genes of ``X`` differ from those seen in ``fit``.
        """
        import torch

        check_is_fitted(self, "w_")
        x = self._check_genes(X)
        with torch_threads(self.n_threads), torch.no_grad():
            xs = torch.as_tensor((x - self.x_min_) / self.x_span_, dtype=torch.float64)
            pred, _, _, net = self._forward(xs)
        self.last_forward_ = {"steps": net["stats"]["steps"], "residual": net["stats"]["residual"].numpy().astype(float)}
        return pred.numpy().astype(np.float64) * self.y_span_ + self.y_min_

    def torch_model(self, target: int | None = None):
        """Torch module: raw TF expression -> raw predictions (gradients via the adjoint)."""
        import torch
        import torch.nn as nn

        check_is_fitted(self, "w_")
        est = self

        class _Wrapped(nn.Module):
            def forward(self, x):
                xs = (x - torch.as_tensor(est.x_min_, dtype=x.dtype)) / torch.as_tensor(est.x_span_, dtype=x.dtype)
                pred, _, _, _ = est._forward(xs)
                out = pred * torch.as_tensor(est.y_span_, dtype=pred.dtype) + torch.as_tensor(est.y_min_,
                                                                                              dtype=pred.dtype)
                out = out.to(x.dtype)
                return out if target is None else out[:, target:target + 1]

        return _Wrapped().eval()

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_structure_cache", None)
        return state


