"""LEMBAS: a recurrent network on a signed prior network, run to a steady state.

Nilsson A, Peters JM, Meimetis N, Bryson B, Lauffenburger DA. Artificial neural networks
enable genome-scale simulations of intracellular signaling. Nat Commun 13:3069 (2022),
doi:10.1038/s41467-022-30684-y (code: Lauffenburger-Lab/LEMBAS, ``bionetwork.py``); the
LEMBAS-RNN benchmark (Langridge 2026) reuses it for TF -> target-gene expression.

Model (N nodes = genes of the prior present in the data; E prior edges j -> i):

* input projection ``u = a_in * x`` onto the input nodes (``a_in`` frozen);
* steady state of ``h <- f(W h + b + u)`` from ``h = 0``, where ``W`` has entries only on
  prior edges and ``f`` is the Michaelis-Menten-like (MML) activation
  ``f(z) = leak*z (z < 0); z (0 <= z <= 0.5); 1 - 0.25/z (z > 0.5)``;
* output projection ``y = a_out * h*[outputs] + c``.

Gradients are taken at the fixed point by implicit differentiation: the adjoint
``g <- f'(z*) * (W^T g + dL/dh*)`` is iterated to convergence and
``dL/dW_ij = g_i h*_j``, ``dL/db = g``, ``dL/du = g`` — no back-propagation through the
iterations. Training adds the paper's spectral-radius penalty on ``diag(f'(z*)) W``
(ARPACK for the eigenpair; analytic gradient from the left and right eigenvectors), a
mode-of-action penalty on weights whose sign contradicts the prior, L2, and a one-cycle
learning rate with Adam.

Data are min-max scaled per gene on the training cells (the activation saturates at 1);
predictions are mapped back to the data's scale.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ...errors import DataValidationError, format_names
from ...models.base import GeneAwareMixin, seed_everything, show_progress, torch_threads

__all__ = ["mml", "mml_derivative", "spectral_radius", "spectral_radius_gradient", "spectral_target", "sign_violation",
           "network_structure", "LembasRegressor", "SteadyState", "SpectralTracker", "uniform_state_loss",
           "one_cycle_lr"]


def mml(z, leak: float = 0.01):
    """Michaelis-Menten-like activation (LEMBAS ``MMLactivation``).

    ``f(z) = leak * z`` for z < 0, ``z`` for 0 <= z <= 0.5, ``1 - 0.25 / z`` for z > 0.5:
    continuous with slope 1 at 0.5, saturating at 1 like ``x / (K + x)`` kinetics.

    Parameters
    ----------
    z : torch.Tensor
        Pre-activation, any shape.
    leak : float
        Slope below zero.
    """
    import torch

    return torch.where(z < 0, leak * z, torch.where(z <= 0.5, z, 1 - 0.25 / torch.clamp(z, min=0.5)))


def mml_derivative(z, leak: float = 0.01):
    """Derivative of :func:`mml`: ``leak`` (z <= 0), 1 (0 < z <= 0.5), ``0.25 / z**2`` (z > 0.5)."""
    import torch

    return torch.where(z <= 0, torch.full_like(z, leak), torch.where(z <= 0.5, torch.ones_like(z),
                                                                      0.25 / torch.clamp(z, min=0.5) ** 2))


def spectral_target(epsilon: float, steps: int) -> float:
    """Largest spectral radius that reaches precision ``epsilon`` within ``steps`` iterations.

    ``rho**steps <= epsilon`` gives ``rho = exp(ln(epsilon) / steps)`` (LEMBAS
    ``trainingParameters``): 0.940 for (1e-4, 150), 0.736 for the seed's (1e-20, 150).
    """
    return math.exp(math.log(epsilon) / steps)


def _sparse(w: np.ndarray, src: np.ndarray, dst: np.ndarray, n: int, scale=None):
    import scipy.sparse as sp

    w = np.asarray(w, dtype=np.float64)
    if scale is not None:
        w = w * np.asarray(scale, dtype=np.float64)[np.asarray(dst)]
    return sp.csr_matrix((w, (dst, src)), shape=(n, n))


class SpectralTracker:
    """Dominant eigenpairs of ``diag(scale) W`` and of its transpose, warm-started update after update.

    ARPACK (``scipy.sparse.linalg.eigs`` with 12 Lanczos vectors) starts from the previous
    update's eigenvectors, which the small weight changes of one update barely move. Where
    ARPACK does not converge or the left and right eigenvalues differ (no single dominant
    eigenvalue, e.g. a pure cycle), :func:`spectral_radius`'s dense path answers (counted in
    ``fallbacks``). Run it with one BLAS thread: ARPACK's many small products are several times
    slower multi-threaded on 2 cores.

    Parameters
    ----------
    n : int
        Number of nodes.
    ncv : int
        Lanczos vectors.
    tol : float
        ARPACK tolerance.
    seed : int
        Seed of the first starting vector.
    """

    def __init__(self, n: int, ncv: int = 12, tol: float = 1e-6, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.n, self.ncv, self.tol = n, ncv, tol
        self.start = rng.uniform(0.5, 1.5, n)
        self.vectors: dict = {}
        self.fallbacks = 0

    def __call__(self, w, src, dst, scale, key=None):
        """``(rho, lam, right vector, left vector)`` of ``diag(scale) W``.

        ``key`` names the matrix being tracked (the training sample whose activation slopes
        ``scale`` are): each key warm-starts from its own previous eigenvectors.
        """
        from scipy.sparse.linalg import ArpackNoConvergence, eigs

        self.v0, self.w0 = self.vectors.get(key, (self.start, self.start))
        a = _sparse(w, src, dst, self.n, scale)
        if a.nnz == 0:
            return 0.0, 0j, np.zeros(self.n), np.zeros(self.n)
        if self.n <= max(60, self.ncv + 2):
            return spectral_radius(w, src, dst, self.n, scale, return_vectors=True)
        lam = None
        try:
            vals, vecs = eigs(a, k=1, which="LM", v0=self.v0, ncv=self.ncv, tol=self.tol, maxiter=self.n * 20)
            lvals, lvecs = eigs(a.T.tocsr(), k=1, which="LM", v0=self.w0, ncv=self.ncv, tol=self.tol,
                                maxiter=self.n * 20)
            lam, v, lam_l, wl = vals[0], vecs[:, 0], lvals[0], lvecs[:, 0]
        except ArpackNoConvergence:
            pass
        if lam is not None and abs(lam_l - lam) > 1e-4 * max(abs(lam), 1e-12):
            if abs(lam_l - np.conj(lam)) <= 1e-4 * max(abs(lam), 1e-12):
                wl = np.conj(wl)  # A^T w = conj(lam) w  <=>  A^T conj(w) = lam conj(w)
            else:
                lam = None  # another eigenvalue of equal modulus: no single dominant one
        if lam is None:
            self.fallbacks += 1
            out = spectral_radius(w, src, dst, self.n, scale, return_vectors=True)
            self.vectors[key] = (_start(out[2], self.v0), _start(out[3], self.w0))
            return out
        self.vectors[key] = (_start(v, self.v0), _start(wl, self.w0))
        return float(abs(lam)), lam, v, wl


def _start(vec: np.ndarray, old: np.ndarray) -> np.ndarray:
    """A real ARPACK starting vector in the span of a (complex) eigenvector."""
    x = np.real(vec) + np.imag(vec)
    return x if np.linalg.norm(x) > 1e-12 else old


def spectral_radius(w, src, dst, n: int, scale=None, *, v0=None, return_vectors: bool = False):
    """Largest |eigenvalue| of ``diag(scale) W`` for a sparse edge list.

    Parameters
    ----------
    w : array-like, shape (E,)
        Edge weights; edge ``e`` is ``src[e] -> dst[e]`` (``W[dst, src] = w``).
    src, dst : array-like of int, shape (E,)
    n : int
        Number of nodes.
    scale : array-like, shape (n,), optional
        Row scaling (the activation slopes ``f'(z*)``); identity if None.
    v0 : ndarray, optional
        ARPACK starting vector; default a fixed seeded vector, so results do not depend on
        earlier ARPACK calls in the process.
    return_vectors : bool
        Also return the eigenvalue and its right and left eigenvectors.

    Returns
    -------
    float, or (float, complex, ndarray, ndarray)
        ARPACK (``scipy.sparse.linalg.eigs``) for n > 60, dense ``numpy.linalg.eig`` below
        or when ARPACK does not converge (no dominant eigenvalue, e.g. a pure cycle).
    """
    from scipy.sparse.linalg import ArpackNoConvergence, eigs

    if v0 is None:  # ARPACK's own random start depends on earlier calls in the process: fix it
        v0 = np.random.default_rng(0).uniform(0.5, 1.5, n)
    a = _sparse(w, np.asarray(src), np.asarray(dst), n, scale)
    if a.nnz == 0:
        return (0.0, 0j, np.zeros(n), np.zeros(n)) if return_vectors else 0.0
    dense = n <= 60
    if not dense:
        try:
            vals, vecs = eigs(a, k=1, which="LM", v0=v0, maxiter=n * 20, tol=1e-6)
            lam, v = vals[0], vecs[:, 0]
        except ArpackNoConvergence as exc:
            # no dominant eigenvalue (e.g. a pure cycle: all |eigenvalues| equal): dense solve
            if len(exc.eigenvalues):
                lam, v = exc.eigenvalues[0], exc.eigenvectors[:, 0]
            elif n <= 3000:
                dense = True
            else:
                raise
    if dense:
        vals, right = np.linalg.eig(a.toarray())
        k = int(np.argmax(np.abs(vals)))
        lam, v = vals[k], right[:, k]
    rho = float(abs(lam))
    if not return_vectors:
        return rho
    # left eigenvector: the eigenvector of A^T for the same eigenvalue
    if dense:
        lvals, left = np.linalg.eig(a.toarray().T)
        wl = left[:, int(np.argmin(np.abs(lvals - lam)))]
    else:
        try:
            _, lvecs = eigs(a.T.tocsr(), k=1, which="LM", v0=v0, maxiter=n * 20, tol=1e-6)
            wl = lvecs[:, 0]
        except ArpackNoConvergence:
            lvals, left = np.linalg.eig(a.toarray().T)
            wl = left[:, int(np.argmin(np.abs(lvals - lam)))]
    return rho, lam, v, wl


def spectral_radius_gradient(w, src, dst, n, scale, tracker: SpectralTracker | None = None, key=None):
    """Spectral radius of ``diag(scale) W`` and its gradient with respect to the edge weights.

    ``d|lambda|/dJ_ij = Re(conj(lambda)/|lambda| * wl_i v_j / (wl^T v))`` with right/left
    eigenvectors ``v``/``wl``; ``dJ_ij/dW_ij = scale_i``. A gradient with norm above 10 is
    rescaled to unit norm (as in LEMBAS).

    Parameters
    ----------
    tracker : SpectralTracker, optional
        Warm-started eigen-solver (training); None: ARPACK/dense from scratch.
    key : hashable, optional
        Which tracked matrix this is (the training sample), for the tracker's warm start.

    Returns
    -------
    rho : float
    grad : ndarray, shape (E,)
    """
    src, dst = np.asarray(src), np.asarray(dst)
    if tracker is None:
        rho, lam, v, wl = spectral_radius(w, src, dst, n, scale, return_vectors=True)
    else:
        rho, lam, v, wl = tracker(w, src, dst, scale, key=key)
    if rho == 0.0:
        return 0.0, np.zeros(len(w))
    denom = wl @ v
    if abs(denom) < 1e-12:
        return rho, np.zeros(len(w))
    phase = np.conj(lam) / abs(lam)
    grad = np.real(phase * wl[dst] * v[src] / denom) * np.asarray(scale)[dst]
    norm = np.linalg.norm(grad)
    if norm > 10:
        grad = grad / norm
    return rho, grad


def sign_violation(w, sign):
    """Sum of |w| over edges whose sign contradicts the prior (``sign`` +1/-1; 0 = unknown).

    Parameters
    ----------
    w : torch.Tensor, shape (E,)
    sign : torch.Tensor, shape (E,)
    """
    import torch

    bad = ((sign > 0) & (w < 0)) | ((sign < 0) & (w > 0))
    return torch.sum(torch.abs(w[bad]))


class SteadyState:
    """Fixed point of ``h = f(W h + b + u)`` with an implicit (adjoint) backward pass.

    ``SteadyState.apply(w, b, u, net)`` returns ``h*`` of shape (B, N); ``net`` is
    :func:`network_structure` plus ``leak``, ``max_steps``, ``tol``, ``bwd_steps``,
    ``bwd_tol`` and optionally ``clip`` (LEMBAS's tanh soft-clipping of the adjoint beyond
    ``+/- clip``) and ``h0`` (N x B starting states; default zeros); the forward writes ``steps`` and ``residual`` (per cell, max |Δh| of the last
    step) into ``net['stats']``. The iterations run in compiled loops over the CSR layout of
    ``W`` (numba), in float64.
    """

    _fn = None

    @classmethod
    def apply(cls, w, b, u, net):
        if cls._fn is None:
            cls._fn = _make_function()
        return cls._fn.apply(w, b, u, net)


def _kernels():
    """Compiled fixed-point and adjoint iterations (numba; compiled once and cached on disk)."""
    global _KERNELS
    if _KERNELS is not None:
        return _KERNELS
    import numba

    @numba.njit(cache=True, fastmath=False)
    def forward(indptr, indices, data, big_u, h0, leak, max_steps, tol):
        n, nb = big_u.shape
        h = h0.copy()
        h_new = np.empty((n, nb))
        acc = np.empty(nb)
        residual = np.full(nb, np.inf)
        steps = 0
        for step in range(max_steps):
            steps = step + 1
            residual[:] = 0.0
            for i in range(n):
                acc[:] = big_u[i]
                for p in range(indptr[i], indptr[i + 1]):
                    wp, j = data[p], indices[p]
                    for c in range(nb):  # the batch is contiguous: h[j, :]
                        acc[c] += wp * h[j, c]
                for c in range(nb):
                    a = acc[c]
                    val = leak * a if a < 0 else (a if a <= 0.5 else 1.0 - 0.25 / a)
                    d = abs(val - h[i, c])
                    if d > residual[c]:
                        residual[c] = d
                    h_new[i, c] = val
            h, h_new = h_new, h
            if residual.max() < tol:
                break
        z = np.empty((n, nb))
        for i in range(n):
            acc[:] = big_u[i]
            for p in range(indptr[i], indptr[i + 1]):
                wp, j = data[p], indices[p]
                for c in range(nb):
                    acc[c] += wp * h[j, c]
            z[i] = acc
        return h, z, steps, residual

    @numba.njit(cache=True, fastmath=False)
    def adjoint(indptr, indices, data, fprime, v, max_steps, tol, clip):
        n, nb = v.shape
        g = fprime * v
        g_new = np.empty((n, nb))
        acc = np.empty(nb)
        for _ in range(max_steps):
            delta = 0.0
            for i in range(n):
                acc[:] = v[i]
                for p in range(indptr[i], indptr[i + 1]):
                    wp, j = data[p], indices[p]
                    for c in range(nb):
                        acc[c] += wp * g[j, c]
                for c in range(nb):
                    val = fprime[i, c] * acc[c]
                    if clip > 0:
                        if val > clip:
                            val = np.tanh(val - clip) + clip
                        elif val < -clip:
                            val = np.tanh(val + clip) - clip
                    d = abs(val - g[i, c])
                    if d > delta:
                        delta = d
                    g_new[i, c] = val
            g, g_new = g_new, g
            if delta < tol:
                break
        return g

    _KERNELS = (forward, adjoint)
    return _KERNELS


_KERNELS = None


def _csr_structure(rows: np.ndarray, cols: np.ndarray, n: int):
    """Edge order, row pointers and column indices of a CSR matrix with entries at (rows, cols)."""
    order = np.lexsort((cols, rows))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, rows[order] + 1, 1)
    return order, np.cumsum(indptr), cols[order].astype(np.int64)


def network_structure(src: np.ndarray, dst: np.ndarray, n: int) -> dict:
    """Precomputed CSR layouts of ``W`` (rows = targets) and ``W^T`` for an edge list."""
    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    return {"src": src, "dst": dst, "src_np": src, "dst_np": dst, "n": n,
            "W": _csr_structure(dst, src, n), "WT": _csr_structure(src, dst, n)}


def _propagate(h, w, net):
    """``(W h)`` for a batch, ``h`` of shape (B, N) (torch, no gradient)."""
    import torch

    order, indptr, indices = net["W"]
    a = _sparse_rows(w.detach().cpu().numpy()[order], indptr, indices, net["n"])
    return torch.as_tensor((a @ h.detach().cpu().numpy().T).T)


def _sparse_rows(data, indptr, indices, n):
    import scipy.sparse as sp

    return sp.csr_matrix((data, indices, indptr), shape=(n, n))


def _make_function():
    import torch

    class _SteadyState(torch.autograd.Function):
        @staticmethod
        def forward(ctx, w, b, u, net):
            forward_k = _kernels()[0]
            order, indptr, indices = net["W"]
            w_np = w.detach().numpy().astype(np.float64)
            big_u = np.ascontiguousarray((u.detach() + b.detach()).numpy().astype(np.float64).T)
            h0 = net.pop("h0", None)
            h0 = np.zeros_like(big_u) if h0 is None else np.ascontiguousarray(h0, dtype=np.float64)
            h, z, steps, residual = forward_k(indptr, indices, w_np[order], big_u, h0, float(net["leak"]),
                                              int(net["max_steps"]), float(net["tol"]))
            net["stats"] = {"steps": int(steps), "residual": torch.as_tensor(residual.copy())}
            ctx.h, ctx.z, ctx.w_np, ctx.net = h, z, w_np, net
            return torch.as_tensor(h.T.copy(), dtype=u.dtype)

        @staticmethod
        def backward(ctx, grad_h):
            adjoint_k = _kernels()[1]
            net, h, z = ctx.net, ctx.h, ctx.z
            leak = float(net["leak"])
            fprime = np.where(z <= 0, leak, np.where(z <= 0.5, 1.0, 0.25 / np.maximum(z, 0.5) ** 2))
            order, indptr, indices = net["WT"]
            v = np.ascontiguousarray(grad_h.detach().numpy().astype(np.float64).T)
            g = adjoint_k(indptr, indices, ctx.w_np[order], fprime, v, int(net["bwd_steps"]), float(net["bwd_tol"]),
                          float(net.get("clip") or 0.0))
            grad_w = (g[net["dst"]] * h[net["src"]]).sum(axis=1)
            dtype = grad_h.dtype
            return (torch.as_tensor(grad_w, dtype=dtype), torch.as_tensor(g.sum(axis=1), dtype=dtype),
                    torch.as_tensor(g.T.copy(), dtype=dtype), None)

    return _SteadyState


def _make_spectral():
    import torch

    class _Spectral(torch.autograd.Function):
        @staticmethod
        def forward(ctx, w, scale, net):
            rho, grad = spectral_radius_gradient(w.detach().double().numpy(), net["src_np"], net["dst_np"], net["n"],
                                                 scale.detach().double().numpy(), tracker=net.get("tracker"))
            ctx.save_for_backward(torch.as_tensor(grad, dtype=w.dtype))
            return torch.tensor(rho, dtype=w.dtype)

        @staticmethod
        def backward(ctx, grad_out):
            (grad,) = ctx.saved_tensors
            return grad_out * grad, None, None

    return _Spectral


def uniform_state_loss(states, target_max: float, target_min: float = 0.0):
    """LEMBAS's uniform-state loss: each node's states over samples should look like U(min, max).

    Penalises (per node) the squared distance of the mean to ``(max - min) / 2``, of the
    variance to ``(max - min)² / 12``, of the largest state to ``max`` and of the smallest to
    ``min``, plus the largest state where it is not positive (``bionetwork.uniformLossBatch``,
    ``maxConstraintFactor = 1``).

    Parameters
    ----------
    states : torch.Tensor, shape (n_samples, n_nodes)
    target_max, target_min : float
    """
    import torch

    mean = torch.mean(states, dim=0)
    var = torch.mean((states - mean) ** 2, dim=0)
    hi, lo = torch.max(states, dim=0).values, torch.min(states, dim=0).values
    loss = torch.sum((mean - (target_max - target_min) / 2) ** 2) + torch.sum((var - (target_max - target_min) ** 2 / 12) ** 2)
    loss = loss + torch.sum((hi - target_max) ** 2) + torch.sum((lo - target_min) ** 2)
    return loss - torch.sum(hi[hi.detach() <= 0])


def one_cycle_lr(epoch: int, epochs: int, peak: float, start: float, end: float, peak_epoch: int) -> float:
    """LEMBAS's ``oneCycle`` learning rate: cosine from ``start`` to ``peak`` by ``peak_epoch``, cosine
    down to ``end`` by 95% of the epochs, then ``end``."""
    length = 0.95 * epochs
    if epoch <= peak_epoch:
        return (peak - start) * 0.5 * (math.cos(math.pi * (epoch / max(peak_epoch, 1) + 1)) + 1) + start
    if epoch <= length:
        frac = (epoch - peak_epoch) / max(length - peak_epoch, 1e-12)
        return (peak - end) * 0.5 * (math.cos(math.pi * (frac + 2)) + 1) + end
    return end


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
        epoch (the same fixed point within ``tol``, reached in fewer iterations; leave it off
        when ``max_steps`` truncates the iteration on purpose, as ``lembas_seed`` does).
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
            self.x_min_, self.x_span_ = x.min(0), _span(x)
            self.y_min_, self.y_span_ = y.min(0), _span(y)
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
            trainer = _Trainer(self, xs, ys, rng)
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


class _Trainer:
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
        h, z, steps, residual = _kernels()[0](indptr, indices, p["w"][order], big_u, h0, float(est.leak),
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
        g = _kernels()[1](indptr_t, indices_t, p["w"][order_t], fprime, np.ascontiguousarray(dh),
                          int(est.bwd_steps), float(est.bwd_tol), float(est.clip or 0.0))
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
        """Gradient of :func:`uniform_state_loss` (all samples' states, the batch's replaced by ``h``) w.r.t. ``h``."""
        full = self.state.copy()
        full[idx] = h.T
        n_s = len(full)
        t_max = 1.0 / self.est.output_amplitude
        mean = full.mean(axis=0)
        var = ((full - mean) ** 2).mean(axis=0)
        dx = 2 * (mean - t_max / 2) / n_s + 2 * (var - t_max**2 / 12) * 2 * (full[idx] - mean) / n_s
        arg_max, arg_min = full.argmax(axis=0), full.argmin(axis=0)
        hi, lo = full.max(axis=0), full.min(axis=0)
        pos = {s: k for k, s in enumerate(idx)}
        for node in range(self.n):
            if arg_max[node] in pos:
                dx[pos[arg_max[node]], node] += 2 * (hi[node] - t_max) - (1.0 if hi[node] <= 0 else 0.0)
            if arg_min[node] in pos:
                dx[pos[arg_min[node]], node] += 2 * lo[node]
        return dx

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


def _span(a: np.ndarray) -> np.ndarray:
    span = a.max(0) - a.min(0)
    return np.where(span > 0, span, 1.0)

