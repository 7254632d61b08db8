"""The LEMBAS training loop in numpy/numba: analytic gradients of every loss term, and Adam."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .numerics import SpectralTracker, kernels, spectral_radius_gradient, spectral_target

__all__ = ["Trainer", "span"]

if TYPE_CHECKING:
    from .estimator import LembasRegressor


class Trainer:
    """The LEMBAS training loop in numpy/numba: analytic gradients of every loss term and Adam.

    Parameters live in float64 arrays (``w``, ``b``, ``a``, ``c``); :meth:`to_torch` copies them to
    the estimator's torch parameters (used by ``predict`` and SHAP).
    """

    def __init__(self, est: LembasRegressor, xs: np.ndarray, ys: np.ndarray, rng: np.random.Generator):
        self.est, self.xs, self.ys, self.rng = est, xs, ys, rng
        self.n, self.n_samples = len(est.nodes_), len(xs)
        self.net = est._net(self.n)
        self.p = {"w": est.w_.detach().numpy().copy(), "b": est.b_.detach().numpy().copy(),
                  "a": est.a_out_.detach().numpy().copy(), "c": est.c_out_.detach().numpy().copy()}
        self.learn = ["w", "b", "a"] + (["c"] if est.output_bias else [])
        self.sign = est.sign_.astype(np.float64)
        self.rho_t = spectral_target(est.epsilon, est.target_steps)
        self.tracker = SpectralTracker(self.n, seed=int(est.random_state or 0))
        self.state = np.full((self.n_samples, self.n), 0.5)  # last states (uniform loss, warm starts)
        self.seen = np.zeros(self.n_samples, dtype=bool)
        self.adjoint_state = np.zeros((self.n_samples, self.n)) if est.warm_start else None
        self.adjoint_seen = np.zeros(self.n_samples, dtype=bool)
        self.reset_adam()

    def reset_adam(self):
        self.m = {k: np.zeros_like(self.p[k]) for k in self.learn}
        self.v = {k: np.zeros_like(self.p[k]) for k in self.learn}
        self.t = 0

    def _steady(self, xs_batch, noise=None, h0=None):
        est, p, net = self.est, self.p, self.net
        u = np.zeros((len(xs_batch), self.n))
        u[:, est.in_idx_] = est.input_amplitude * xs_batch
        if noise is not None:
            u += noise
        big_u = np.ascontiguousarray((u + p["b"]).T)
        order, indptr, indices = net["W"]
        h0 = np.zeros_like(big_u) if h0 is None else np.ascontiguousarray(h0.T)
        h, z, steps, residual = kernels()[0](indptr, indices, p["w"][order], big_u, h0, float(est.leak),
                                              int(est.max_steps), float(est.tol))
        return h, z, steps, residual

    def predict(self, xs_batch):
        h, _, _, _ = self._steady(xs_batch)
        return (self.p["a"][:, None] * h[self.est.out_idx_] + self.p["c"][:, None]).T

    def epoch(self, lr: float):
        est = self.est
        order = self.rng.permutation(self.n_samples)
        fit_losses, rhos = [], []
        for start in range(0, self.n_samples, est.batch_size):
            idx = order[start:start + est.batch_size]
            fit, rho = self.update(idx, lr)
            fit_losses.append(fit)
            if rho is not None:
                rhos.append(rho)
        return fit_losses, rhos

    def update(self, idx, lr):
        est, p, net = self.est, self.p, self.net
        nb, out = len(idx), est.out_idx_
        noise = est.input_noise * self.rng.standard_normal((nb, self.n)) if est.input_noise else None
        h0 = self.state[idx] if est.warm_start and self.seen[idx].all() else None
        h, z, _, _ = self._steady(self.xs[idx], noise, h0)  # (N, B)
        pred = p["a"][:, None] * h[out] + p["c"][:, None]  # (M, B)
        r = pred - self.ys[idx].T
        fit = float(np.mean(r**2))
        dy = 2 * r / r.size
        grad = {"a": (dy * h[out]).sum(axis=1) + 2e-4 * (p["a"] - est.output_amplitude),
                "c": dy.sum(axis=1)}
        dh = np.zeros_like(h)
        np.add.at(dh, out, p["a"][:, None] * dy)
        if est.uniform_factor:
            dh += est.uniform_factor * self._uniform_grad(idx, h).T
        self.state[idx] = h.T
        self.seen[idx] = True
        # adjoint of the fixed point: g = f'(z) (W^T g + dL/dh)
        leak = float(est.leak)
        fprime = np.where(z <= 0, leak, np.where(z <= 0.5, 1.0, 0.25 / np.maximum(z, 0.5) ** 2))
        order_t, indptr_t, indices_t = net["WT"]
        dh = np.ascontiguousarray(dh)
        # warm start: the adjoint of the same samples' previous update (the same fixed point within bwd_tol)
        g0 = self.adjoint_state[idx].T if est.warm_start and self.adjoint_seen[idx].all() else fprime * dh
        g = kernels()[1](indptr_t, indices_t, p["w"][order_t], fprime, dh, np.ascontiguousarray(g0),
                         int(est.bwd_steps), float(est.bwd_tol), float(est.clip or 0.0))
        if est.warm_start:
            self.adjoint_state[idx] = g.T
            self.adjoint_seen[idx] = True
        w = p["w"]
        bad = ((self.sign > 0) & (w < 0)) | ((self.sign < 0) & (w > 0))
        grad["w"] = (g[net["dst"]] * h[net["src"]]).sum(axis=1) + est.sign_factor * np.sign(w) * bad + 2 * est.l2 * w
        grad["b"] = g.sum(axis=1) + 2 * est.l2 * p["b"]
        if est.input_bias_factor:
            grad["b"][est.in_idx_] += 2 * est.input_bias_factor * p["b"][est.in_idx_]
        rho = None
        if est.spectral_factor > 0 and len(w):
            k = int(self.rng.integers(nb))
            rho, grad_rho = spectral_radius_gradient(w, net["src"], net["dst"], self.n, fprime[:, k],
                                                     tracker=self.tracker, key=int(idx[k]))
            if rho > 0.5:
                kf = est.exp_factor
                grad["w"] = grad["w"] + est.spectral_factor * math.exp(-kf * self.rho_t) * kf * math.exp(kf * rho) \
                    * grad_rho
        self._adam(grad, lr)
        return fit, rho

    def _uniform_grad(self, idx, h):
        """Gradient of :func:`uniform_state_loss` (all samples' states, the batch's replaced by ``h``) w.r.t. ``h``,
        shape (B, N) (a compiled kernel; tested against torch autograd)."""
        pos = np.full(self.n_samples, -1, dtype=np.int64)
        pos[idx] = np.arange(len(idx))
        return kernels()[3](self.state, pos, np.ascontiguousarray(h), 1.0 / self.est.output_amplitude)

    def _adam(self, grad, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.t += 1
        for k in self.learn:
            self.m[k] = beta1 * self.m[k] + (1 - beta1) * grad[k]
            self.v[k] = beta2 * self.v[k] + (1 - beta2) * grad[k] ** 2
            m_hat = self.m[k] / (1 - beta1**self.t)
            v_hat = self.v[k] / (1 - beta2**self.t)
            self.p[k] = self.p[k] - lr * m_hat / (np.sqrt(v_hat) + eps)

    def violations(self) -> int:
        w = self.p["w"]
        return int((((self.sign > 0) & (w < 0)) | ((self.sign < 0) & (w > 0))).sum())

    def snapshot(self):
        return {k: v.copy() for k, v in self.p.items()}

    def restore(self, snap):
        self.p = {k: v.copy() for k, v in snap.items()}

    def to_torch(self):
        import torch

        est = self.est
        for name, key in (("w_", "w"), ("b_", "b"), ("a_out_", "a"), ("c_out_", "c")):
            getattr(est, name).data = torch.as_tensor(self.p[key], dtype=torch.float64)


def span(a: np.ndarray) -> np.ndarray:
    span = a.max(0) - a.min(0)
    return np.where(span > 0, span, 1.0)

