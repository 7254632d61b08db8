"""LEMBAS numerics: the MML activation, the fixed point and its adjoint (compiled kernels), the spectral
radius of ``diag(f'(z*)) W`` with its gradient, and the loss terms and schedule of the paper.

Nilsson et al. 2022, Nat Commun 13:3069, doi:10.1038/s41467-022-30684-y (``bionetwork.py``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["mml", "mml_derivative", "spectral_radius", "spectral_radius_gradient", "spectral_target", "sign_violation",
           "network_structure", "SteadyState", "SpectralTracker", "uniform_state_loss", "one_cycle_lr"]


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


ARPACK_NCV = 40
"""Arnoldi vectors for every ARPACK eigen-solve of the spectral-radius regulariser (see :class:`SpectralTracker`)."""


class SpectralTracker:
    """Dominant eigenpairs of ``diag(scale) W`` and of its transpose, warm-started update after update.

    ARPACK (``scipy.sparse.linalg.eigs``, :data:`ARPACK_NCV` Arnoldi vectors, relative tolerance ``tol``) starts
    from the previous update's eigenvectors of the same key, which the small weight changes
    between updates barely move. The matrices are assembled from CSR layouts computed once per
    network, and ARPACK's products run in a compiled kernel (:class:`_CsrOperator`): scipy's
    per-product dispatch cost more than the products. Where ARPACK does not converge or the left
    and right eigenvalues differ (no single dominant eigenvalue, e.g. a pure cycle),
    :func:`spectral_radius`'s dense path answers (counted in ``fallbacks``). Run it with one BLAS
    thread: ARPACK's many small products are several times slower multi-threaded on 2 cores.

    Parameters
    ----------
    n : int
        Number of nodes.
    ncv : int
        Arnoldi vectors (at most ``n - 1``). The trained ligand-screen network's spectrum is
        crowded at the top (third-largest modulus 0.97 of the largest, often a complex pair): with
        12 vectors ARPACK returned a smaller eigenvalue than the dense solver for 9 of 100 matrices
        recorded at epoch ~1,400 (up to 0.007 below), with 40 for none (error < 1e-6) and ran 1.5x
        faster (fewer restarts, no dense fallbacks) -- ``benchmarks/lembas_spectral.py``.
    tol : float
        ARPACK tolerance (relative to the eigenvalue).
    seed : int
        Seed of the first starting vector.
    """

    def __init__(self, n: int, ncv: int = None, tol: float = 1e-6, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.n, self.ncv, self.tol = n, min(int(ncv or ARPACK_NCV), max(n - 1, 2)), tol
        self.start = rng.uniform(0.5, 1.5, n)
        self.vectors: dict = {}
        self.fallbacks = 0

    def _matrix(self, w, src, dst, scale, transpose=False):
        """``diag(scale) W`` (or its transpose) as CSR, from layouts computed once per network."""
        import scipy.sparse as sp

        if getattr(self, "_layout", None) is None or len(self._layout["src"]) != len(src):
            self._layout = network_structure(src, dst, self.n)
        lay = self._layout
        w = np.asarray(w, dtype=np.float64)
        scale = np.asarray(scale, dtype=np.float64)
        order, indptr, indices = lay["WT" if transpose else "W"]
        rows = lay["dst"][order]  # W[dst, src]: the scaled row is the edge's target, in both layouts
        data = w[order] * scale[rows]
        return sp.csr_matrix((data, indices, indptr), shape=(self.n, self.n))

    def __call__(self, w, src, dst, scale, key=None):
        """``(rho, lam, right vector, left vector)`` of ``diag(scale) W``.

        ``key`` names the matrix being tracked (the training sample whose activation slopes
        ``scale`` are): each key warm-starts from its own previous eigenvectors.
        """
        from scipy.sparse.linalg import ArpackNoConvergence, eigs

        self.v0, self.w0 = self.vectors.get(key, (self.start, self.start))
        a = self._matrix(w, src, dst, scale)
        if a.nnz == 0:
            return 0.0, 0j, np.zeros(self.n), np.zeros(self.n)
        if self.n <= max(60, self.ncv + 2):
            return spectral_radius(w, src, dst, self.n, scale, return_vectors=True)
        lam = None
        try:
            vals, vecs = eigs(_CsrOperator(a), k=1, which="LM", v0=self.v0, ncv=self.ncv, tol=self.tol,
                              maxiter=self.n * 20)
            lvals, lvecs = eigs(_CsrOperator(self._matrix(w, src, dst, scale, transpose=True)), k=1, which="LM", v0=self.w0, ncv=self.ncv, tol=self.tol,
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


def _csr_operator_class():
    from scipy.sparse.linalg import LinearOperator

    class CsrOperator(LinearOperator):
        """A CSR matrix as an ARPACK operator whose products run in a compiled kernel: the same
        products as ``A @ x`` without scipy's per-call dispatch, which dominated the eigen-solves."""

        def __init__(self, a):
            super().__init__(dtype=a.dtype, shape=a.shape)
            self.parts = (a.indptr.astype(np.int64), a.indices.astype(np.int64), a.data)

        def matvec(self, x):
            x = np.asarray(x)
            return kernels()[2](*self.parts, x.reshape(-1))

        _matvec = matvec

    return CsrOperator


def _CsrOperator(a):  # noqa: N802 - a class built on first use (scipy imports lazily)
    global _CSR_OPERATOR
    if _CSR_OPERATOR is None:
        _CSR_OPERATOR = _csr_operator_class()
    return _CSR_OPERATOR(a)


_CSR_OPERATOR = None


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
            vals, vecs = eigs(a, k=1, which="LM", v0=v0, ncv=min(ARPACK_NCV, n - 1), maxiter=n * 20, tol=1e-6)
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
            _, lvecs = eigs(a.T.tocsr(), k=1, which="LM", v0=v0, ncv=min(ARPACK_NCV, n - 1), maxiter=n * 20, tol=1e-6)
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


def kernels():
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
    def adjoint(indptr, indices, data, fprime, v, g0, max_steps, tol, clip):
        n, nb = v.shape
        g = g0.copy()
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

    @numba.njit(cache=True, fastmath=False)
    def csr_matvec(indptr, indices, data, x):
        n = indptr.shape[0] - 1
        y = np.empty(n, dtype=x.dtype)
        for i in range(n):
            acc = x.dtype.type(0)
            for p in range(indptr[i], indptr[i + 1]):
                acc += data[p] * x[indices[p]]
            y[i] = acc
        return y

    @numba.njit(cache=True, fastmath=False)
    def uniform_grad(state, pos, h, t_max):
        # gradient of uniform_state_loss over all samples' states (state, S x N) whose batch rows
        # (pos[s] = column of h, else -1) are replaced by h (N x B), with respect to h; returns B x N
        n_s, n = state.shape
        nb = h.shape[1]
        full = state.copy()
        for s in range(n_s):
            if pos[s] >= 0:
                for node in range(n):
                    full[s, node] = h[node, pos[s]]
        total = np.zeros(n)
        hi, lo = full[0].copy(), full[0].copy()
        arg_hi, arg_lo = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        for s in range(n_s):
            for node in range(n):
                val = full[s, node]
                total[node] += val
                if val > hi[node]:  # strict: the first sample wins ties, as numpy's argmax
                    hi[node], arg_hi[node] = val, s
                if val < lo[node]:
                    lo[node], arg_lo[node] = val, s
        mean = total / n_s
        var = np.zeros(n)
        for s in range(n_s):
            for node in range(n):
                var[node] += (full[s, node] - mean[node]) ** 2
        var /= n_s
        dx = np.zeros((nb, n))
        for s in range(n_s):
            k = pos[s]
            if k >= 0:
                for node in range(n):
                    dx[k, node] = (2 * (mean[node] - t_max / 2) / n_s
                                   + 2 * (var[node] - t_max**2 / 12) * 2 * (full[s, node] - mean[node]) / n_s)
        for node in range(n):
            k = pos[arg_hi[node]]
            if k >= 0:
                dx[k, node] += 2 * (hi[node] - t_max) - (1.0 if hi[node] <= 0 else 0.0)
            k = pos[arg_lo[node]]
            if k >= 0:
                dx[k, node] += 2 * lo[node]
        return dx

    _KERNELS = (forward, adjoint, csr_matvec, uniform_grad)
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
            forward_k = kernels()[0]
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
            adjoint_k = kernels()[1]
            net, h, z = ctx.net, ctx.h, ctx.z
            leak = float(net["leak"])
            fprime = np.where(z <= 0, leak, np.where(z <= 0.5, 1.0, 0.25 / np.maximum(z, 0.5) ** 2))
            order, indptr, indices = net["WT"]
            v = np.ascontiguousarray(grad_h.detach().numpy().astype(np.float64).T)
            g = adjoint_k(indptr, indices, ctx.w_np[order], fprime, v, fprime * v, int(net["bwd_steps"]), float(net["bwd_tol"]),
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


