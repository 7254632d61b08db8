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

__all__ = ["mml", "mml_derivative", "spectral_radius", "spectral_target", "sign_violation", "network_structure",
           "LembasRegressor", "SteadyState"]


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


def _sparse(w: np.ndarray, src: np.ndarray, dst: np.ndarray, n: int):
    import scipy.sparse as sp

    return sp.csr_matrix((w, (dst, src)), shape=(n, n))


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
        ARPACK starting vector (warm start); default a fixed seeded vector, so results do
        not depend on earlier ARPACK calls in the process.
    return_vectors : bool
        Also return the eigenvalue and its right and left eigenvectors.

    Returns
    -------
    float, or (float, complex, ndarray, ndarray)
        ARPACK (``scipy.sparse.linalg.eigs``) for n > 60, dense ``numpy.linalg.eig`` below
        or when ARPACK does not converge (no dominant eigenvalue, e.g. a pure cycle).
    """
    from scipy.sparse.linalg import ArpackNoConvergence, eigs

    w = np.asarray(w, dtype=np.float64)
    if v0 is None:  # ARPACK's own random start depends on earlier calls in the process: fix it
        v0 = np.random.default_rng(0).uniform(0.5, 1.5, n)
    a = _sparse(w, np.asarray(src), np.asarray(dst), n)
    if scale is not None:
        a = a.multiply(np.asarray(scale, dtype=np.float64)[:, None]).tocsr()
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


def spectral_radius_gradient(w, src, dst, n, scale, v0=None):
    """Spectral radius of ``diag(scale) W`` and its gradient with respect to the edge weights.

    ``d|lambda|/dJ_ij = Re(conj(lambda)/|lambda| * wl_i v_j / (wl^T v))`` with right/left
    eigenvectors ``v``/``wl``; ``dJ_ij/dW_ij = scale_i``. A gradient with norm above 10 is
    rescaled to unit norm (as in LEMBAS).

    Returns
    -------
    rho : float
    grad : ndarray, shape (E,)
    v : ndarray
        Right eigenvector (for warm starts).
    """
    rho, lam, v, wl = spectral_radius(w, src, dst, n, scale, v0=v0, return_vectors=True)
    if rho == 0.0:
        return 0.0, np.zeros(len(w)), None
    denom = wl @ v
    if abs(denom) < 1e-12:
        return rho, np.zeros(len(w)), np.real(v)
    phase = np.conj(lam) / abs(lam)
    grad = np.real(phase * wl[dst] * v[src] / denom) * np.asarray(scale)[dst]
    norm = np.linalg.norm(grad)
    if norm > 10:
        grad = grad / norm
    return rho, grad, np.real(v)


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
    ``bwd_tol``; the forward writes ``steps`` and ``residual`` (per cell, max |Δh| of the
    last step) into ``net['stats']``. ``W`` is applied as a sparse CSR matrix.
    """

    _fn = None

    @classmethod
    def apply(cls, w, b, u, net):
        if cls._fn is None:
            cls._fn = _make_function()
        return cls._fn.apply(w, b, u, net)


def _csr(values, order, crow, col, n):
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Sparse.*", category=UserWarning)
        return torch.sparse_csr_tensor(crow, col, values[order], (n, n), check_invariants=False)


def _csr_structure(rows: np.ndarray, cols: np.ndarray, n: int):
    """Edge order, row pointers and column indices of a CSR matrix with entries at (rows, cols)."""
    import torch

    order = np.lexsort((cols, rows))
    crow = np.zeros(n + 1, dtype=np.int64)
    np.add.at(crow, rows[order] + 1, 1)
    return (torch.as_tensor(order, dtype=torch.long), torch.as_tensor(np.cumsum(crow), dtype=torch.long),
            torch.as_tensor(cols[order], dtype=torch.long))


def network_structure(src: np.ndarray, dst: np.ndarray, n: int) -> dict:
    """Precomputed sparse layouts of ``W`` (rows = targets) and ``W^T`` for an edge list."""
    import torch

    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    return {"src": torch.as_tensor(src), "dst": torch.as_tensor(dst), "src_np": src, "dst_np": dst, "n": n,
            "W": _csr_structure(dst, src, n), "WT": _csr_structure(src, dst, n)}


def _propagate(h, w, net):
    """``(W h)`` for a batch, ``h`` of shape (B, N): z[:, dst] += h[:, src] * w."""
    order, crow, col = net["W"]
    return (_csr(w, order, crow, col, net["n"]) @ h.T).T


def _propagate_t(g, w, net):
    """``(W^T g)`` for a batch, ``g`` of shape (B, N): out[:, src] += g[:, dst] * w."""
    order, crow, col = net["WT"]
    return (_csr(w, order, crow, col, net["n"]) @ g.T).T


def _make_function():
    import torch

    class _SteadyState(torch.autograd.Function):
        @staticmethod
        def forward(ctx, w, b, u, net):
            with torch.no_grad():
                n = net["n"]
                w_mat = _csr(w, *net["W"], n)
                big_u = (u + b).T.contiguous()  # (N, B) layout: sparse @ dense without transposes
                h = torch.zeros_like(big_u)
                residual = torch.full((u.shape[0],), float("inf"), dtype=u.dtype)
                steps = 0
                for steps in range(1, net["max_steps"] + 1):
                    h_new = mml(w_mat @ h + big_u, net["leak"])
                    residual = (h_new - h).abs().amax(dim=0)
                    h = h_new
                    if float(residual.max()) < net["tol"]:
                        break
                z = w_mat @ h + big_u
            net["stats"] = {"steps": steps, "residual": residual.detach().clone()}
            ctx.save_for_backward(w, h, z)
            ctx.net = net
            return h.T

        @staticmethod
        def backward(ctx, grad_h):
            w, h, z = ctx.saved_tensors
            net = ctx.net
            wt_mat = _csr(w, *net["WT"], net["n"])
            fprime = mml_derivative(z, net["leak"])
            v = grad_h.T.contiguous()
            g = fprime * v
            for _ in range(net["bwd_steps"]):
                g_new = fprime * (wt_mat @ g + v)
                done = float((g_new - g).abs().max()) < net["bwd_tol"]
                g = g_new
                if done:
                    break
            grad_w = (g[net["dst"]] * h[net["src"]]).sum(dim=1)
            grad_b = g.sum(dim=1)
            return grad_w, grad_b, g.T, None

    return _SteadyState


def _make_spectral():
    import torch

    class _Spectral(torch.autograd.Function):
        @staticmethod
        def forward(ctx, w, scale, net):
            rho, grad, v = spectral_radius_gradient(w.detach().double().numpy(), net["src_np"], net["dst_np"], net["n"],
                                                    scale.detach().double().numpy(), v0=net.get("v0"))
            if v is not None and np.all(np.isfinite(v)) and np.abs(v).sum() > 0:
                net["v0"] = v
            ctx.save_for_backward(torch.as_tensor(grad, dtype=w.dtype))
            return torch.tensor(rho, dtype=w.dtype)

        @staticmethod
        def backward(ctx, grad_out):
            (grad,) = ctx.saved_tensors
            return grad_out * grad, None, None

    return _Spectral


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
        Peak learning rate of the one-cycle schedule (Adam).
    updates, batch_size : int
        Training length in minibatch updates (whole epochs, at least ``updates``; the
        cost is then about the same for few and many cells) and cells per minibatch.
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
        Per epoch: fit and validation loss (scaled MSE), spectral radius, sign violations,
        learning rate.
    best_epoch_ : int
        Epoch whose parameters were kept (with ``validation``).
    fit_seconds_ : float
    """

    def __init__(self, network=None, inputs=None, outputs=None, max_steps=150, tol=1e-6, target_steps=150,
                 epsilon=1e-4, exp_factor=20.0, leak=0.01, input_amplitude=1.2, output_amplitude=1.2,
                 spectral_factor=1e-3, sign_factor=0.1, l2=1e-6, lr=1e-2, updates=400, batch_size=64,
                 input_noise=1e-3, bwd_steps=150, bwd_tol=1e-6, n_threads=1, progress=None, random_state=0):
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
        self.updates = updates
        self.batch_size = batch_size
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
                "bwd_steps": self.bwd_steps, "bwd_tol": self.bwd_tol}

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
        dtype = torch.float32
        self.w_ = torch.nn.Parameter(torch.as_tensor(w, dtype=dtype))
        self.b_ = torch.nn.Parameter(torch.as_tensor(b, dtype=dtype))
        self.a_out_ = torch.nn.Parameter(torch.full((len(self.out_idx_),), float(self.output_amplitude), dtype=dtype))
        self.c_out_ = torch.nn.Parameter(torch.zeros(len(self.out_idx_), dtype=dtype))

    # ------------------------------------------------------------------ forward
    def _forward(self, x_scaled, noise=None):
        import torch

        n = len(self.nodes_)
        u = torch.zeros((x_scaled.shape[0], n), dtype=self.w_.dtype)
        u[:, torch.as_tensor(self.in_idx_)] = self.input_amplitude * x_scaled
        if noise is not None:
            u = u + noise
        net = self._net(n)
        h = SteadyState.apply(self.w_, self.b_, u, net)
        y = self.a_out_ * h[:, torch.as_tensor(self.out_idx_)] + self.c_out_
        return y, h, u, net

    def fit(self, X, Y, validation=None):
        """Train on scaled data with Adam and a one-cycle learning rate.

        Parameters
        ----------
        X : DataFrame, shape (n_cells, n_inputs)
            Input-node expression (TFs), log scale.
        Y : DataFrame, shape (n_cells, n_outputs)
            Output-node expression (targets), log scale.
        validation : tuple (X_val, Y_val), optional
            If given, the validation loss is computed after every epoch and the parameters
            of the best epoch are kept (``best_epoch_``); the schedule itself is fixed.

        Raises
        ------
        grnbench.errors.DataValidationError
            If the network lacks columns, or an output gene has no incoming prior edge.
        """
        import torch
        from tqdm.auto import tqdm

        x, y = self._record_genes(X, Y)
        in_names = list(self.inputs) if self.inputs is not None else list(getattr(self, "feature_names_in_", []))
        out_names = list(self.outputs) if self.outputs is not None else list(getattr(self, "target_names_", []))
        if len(in_names) != x.shape[1] or len(out_names) != y.shape[1]:
            raise DataValidationError("LembasRegressor needs gene names: fit on DataFrames or pass inputs/outputs")
        t0 = time.perf_counter()
        with torch_threads(self.n_threads):
            rng = seed_everything(self.random_state)
            self.nodes_, self.src_, self.dst_, self.sign_, self.in_idx_, self.out_idx_ = self._structure(in_names,
                                                                                                          out_names)
            self._structure_cache = None
            self.x_min_, self.x_span_ = x.min(0), _span(x)
            self.y_min_, self.y_span_ = y.min(0), _span(y)
            xs = torch.as_tensor((x - self.x_min_) / self.x_span_, dtype=torch.float32)
            ys = torch.as_tensor((y - self.y_min_) / self.y_span_, dtype=torch.float32)
            self._init_params(rng)
            params = [self.w_, self.b_, self.a_out_, self.c_out_]
            opt = torch.optim.Adam(params, lr=self.lr)
            n_batches = math.ceil(len(xs) / self.batch_size)
            epochs = max(1, math.ceil(self.updates / n_batches))
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=epochs * n_batches,
                                                        pct_start=0.125, anneal_strategy="cos", div_factor=10.0,
                                                        final_div_factor=100.0)
            sign_t = torch.as_tensor(self.sign_, dtype=torch.float32)
            rho_t = spectral_target(self.epsilon, self.target_steps)
            spectral = _make_spectral()
            gen = torch.Generator().manual_seed(int(self.random_state or 0))
            if validation is not None:
                xv = torch.as_tensor((self._check_genes(validation[0]) - self.x_min_) / self.x_span_, dtype=torch.float32)
                yv = torch.as_tensor((np.asarray(validation[1], dtype=float) - self.y_min_) / self.y_span_,
                                     dtype=torch.float32)
            best_val, best_state = float("inf"), None
            rows = []
            bar = tqdm(range(epochs), desc="LEMBAS", disable=not show_progress(self.progress), leave=False)
            for epoch in bar:
                order = torch.randperm(len(xs), generator=gen)
                fit_losses, rhos = [], []
                for start in range(0, len(xs), self.batch_size):
                    idx = order[start:start + self.batch_size]
                    opt.zero_grad()
                    noise = self.input_noise * torch.randn((len(idx), len(self.nodes_)), generator=gen)
                    pred, h, u, net = self._forward(xs[idx], noise)
                    fit = torch.mean((pred - ys[idx]) ** 2)
                    loss = fit + self.sign_factor * sign_violation(self.w_, sign_t)
                    loss = loss + self.l2 * (torch.sum(self.w_**2) + torch.sum(self.b_**2))
                    loss = loss + 1e-4 * torch.sum((self.a_out_ - self.output_amplitude) ** 2)
                    if self.spectral_factor > 0 and len(self.src_):
                        k = int(torch.randint(len(idx), (1,), generator=gen))
                        z = (_propagate(h[k:k + 1].detach(), self.w_.detach(), net) + self.b_.detach() + u[k:k + 1])[0]
                        net["v0"] = getattr(self, "_v0", None)
                        rho = spectral.apply(self.w_, mml_derivative(z, self.leak), net)
                        self._v0 = net.get("v0")
                        if rho.item() > 0.5:
                            k_ = self.exp_factor
                            loss = loss + self.spectral_factor * math.exp(-k_ * rho_t) * (torch.exp(k_ * rho) - 1)
                        rhos.append(rho.item())
                    loss.backward()
                    opt.step()
                    sched.step()
                    fit_losses.append(fit.item())
                val_loss = float("nan")
                if validation is not None:
                    with torch.no_grad():
                        val_loss = float(torch.mean((self._forward(xv)[0] - yv) ** 2))
                    if val_loss < best_val:
                        best_val, self.best_epoch_ = val_loss, epoch
                        best_state = [p.detach().clone() for p in params]
                rows.append({"epoch": epoch, "fit_loss": float(np.mean(fit_losses)), "val_loss": val_loss,
                             "spectral_radius": float(np.mean(rhos)) if rhos else 0.0,
                             "sign_violations": int(((sign_t > 0) & (self.w_ < 0) | (sign_t < 0) & (self.w_ > 0)).sum()),
                             "lr": float(sched.get_last_lr()[0])})
                bar.set_postfix(loss=f"{rows[-1]['fit_loss']:.4f}", rho=f"{rows[-1]['spectral_radius']:.2f}")
            if best_state is not None:
                with torch.no_grad():
                    for p, best in zip(params, best_state):
                        p.copy_(best)
        self.history_ = pd.DataFrame(rows)
        self.fit_seconds_ = time.perf_counter() - t0
        self.spectral_target_ = rho_t
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
            xs = torch.as_tensor((x - self.x_min_) / self.x_span_, dtype=torch.float32)
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
                out = pred * torch.as_tensor(est.y_span_, dtype=x.dtype) + torch.as_tensor(est.y_min_, dtype=x.dtype)
                return out if target is None else out[:, target:target + 1]

        return _Wrapped().eval()

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_v0", None)
        state.pop("_structure_cache", None)
        return state


def _span(a: np.ndarray) -> np.ndarray:
    span = a.max(0) - a.min(0)
    return np.where(span > 0, span, 1.0)

