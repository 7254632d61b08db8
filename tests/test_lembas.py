"""LEMBAS: activation, implicit gradients, spectral radius, sign penalty, determinism, errors."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from grnbench.errors import DataValidationError, GeneMismatchError
from grnbench.tasks.target_expression.lembas import (LembasRegressor, SpectralTracker, SteadyState, mml, mml_derivative,
                                                     network_structure, one_cycle_lr, sign_violation, spectral_radius,
                                                     spectral_radius_gradient, spectral_target, uniform_state_loss)


def test_mml_values_and_derivatives_at_known_points():
    z = torch.tensor([-1.0, 0.0, 0.3, 0.5, 1.0, 2.0], dtype=torch.float64)
    np.testing.assert_allclose(mml(z, 0.01).numpy(), [-0.01, 0.0, 0.3, 0.5, 0.75, 0.875])
    np.testing.assert_allclose(mml_derivative(z, 0.01).numpy(), [0.01, 0.01, 1.0, 1.0, 0.25, 0.0625])
    eps = 1e-7  # continuous value and slope at 0.5
    assert float(mml(torch.tensor(0.5 + eps, dtype=torch.float64))) == pytest.approx(0.5, abs=1e-6)
    assert float(mml_derivative(torch.tensor(0.5 + eps, dtype=torch.float64))) == pytest.approx(1.0, abs=1e-6)
    assert float(mml(torch.tensor(1e6, dtype=torch.float64))) < 1.0


def test_spectral_target_matches_the_papers_values():
    assert spectral_target(1e-4, 150) == pytest.approx(0.9404, abs=1e-4)
    assert spectral_target(1e-20, 150) == pytest.approx(0.7356, abs=1e-4)


CYCLE_SRC = np.array([0, 1, 2, 3, 4, 5, 2, 0])
CYCLE_DST = np.array([1, 2, 3, 4, 5, 0, 0, 3])


def _net(max_steps=500, tol=1e-13):
    return {**network_structure(CYCLE_SRC, CYCLE_DST, 6), "leak": 0.01, "max_steps": max_steps, "tol": tol,
            "bwd_steps": 1000, "bwd_tol": 1e-15}


@pytest.fixture
def cyclic():
    rng = np.random.default_rng(0)
    w = torch.tensor(rng.uniform(-0.4, 0.4, len(CYCLE_SRC)), dtype=torch.float64, requires_grad=True)
    b = torch.tensor(rng.uniform(0, 0.2, 6), dtype=torch.float64, requires_grad=True)
    u = torch.tensor(rng.uniform(0, 1, (3, 6)), dtype=torch.float64, requires_grad=True)
    target = torch.tensor(rng.uniform(0, 1, (3, 6)), dtype=torch.float64)
    return w, b, u, target


def test_implicit_gradient_matches_unrolled_autograd_and_finite_differences(cyclic):
    w, b, u, target = cyclic

    def loss(w_, b_, u_):
        return ((SteadyState.apply(w_, b_, u_, _net()) - target) ** 2).sum()

    loss(w, b, u).backward()
    # unrolled reference: plain autograd through 400 explicit iterations
    w2, b2, u2 = (t.detach().clone().requires_grad_() for t in (w, b, u))
    h = torch.zeros(3, 6, dtype=torch.float64)
    for _ in range(400):
        z = torch.zeros_like(h).index_add(1, torch.as_tensor(CYCLE_DST), h[:, CYCLE_SRC] * w2) + b2 + u2
        h = mml(z, 0.01)
    ((h - target) ** 2).sum().backward()
    for ours, ref in ((w.grad, w2.grad), (b.grad, b2.grad), (u.grad, u2.grad)):
        assert float((ours - ref).abs().max() / ref.abs().max()) < 1e-4
    eps = 1e-6
    fd = []
    for e in range(len(CYCLE_SRC)):
        wp, wm = w.detach().clone(), w.detach().clone()
        wp[e] += eps
        wm[e] -= eps
        fd.append(float(loss(wp, b.detach(), u.detach()) - loss(wm, b.detach(), u.detach())) / (2 * eps))
    fd = np.array(fd)
    assert np.abs(fd - w.grad.numpy()).max() / np.abs(fd).max() < 1e-4


def test_forward_reports_steps_and_residual(cyclic):
    w, b, u, _ = cyclic
    net = _net(max_steps=3, tol=1e-20)
    SteadyState.apply(w, b, u, net)
    assert net["stats"]["steps"] == 3 and float(net["stats"]["residual"].max()) > 1e-6
    net = _net()
    SteadyState.apply(w, b, u, net)
    assert net["stats"]["steps"] < 500 and float(net["stats"]["residual"].max()) < 1e-13


def test_spectral_radius_of_known_matrices():
    # 2-cycle with weights 2 and 0.5: eigenvalues +-1
    assert spectral_radius([2.0, 0.5], [1, 0], [0, 1], 2) == pytest.approx(1.0)
    # 100-node cycle with weights 0.9 (ARPACK path): |eigenvalues| all 0.9
    n = 100
    src = np.arange(n)
    assert spectral_radius(np.full(n, 0.9), src, (src + 1) % n, n) == pytest.approx(0.9, rel=1e-5)
    # row scaling by f'(z): eigenvalues of diag(s) W
    assert spectral_radius([2.0, 0.5], [1, 0], [0, 1], 2, scale=[0.25, 1.0]) == pytest.approx(0.5)
    assert spectral_radius([1.0], [0], [1], 2) == 0.0  # a DAG has spectral radius 0


def test_spectral_radius_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    w = rng.uniform(0.1, 0.6, len(CYCLE_SRC))
    scale = rng.uniform(0.5, 1.0, 6)
    rho, grad = spectral_radius_gradient(w, CYCLE_SRC, CYCLE_DST, 6, scale)
    eps = 1e-6
    fd = [(spectral_radius(w + eps * np.eye(len(w))[e], CYCLE_SRC, CYCLE_DST, 6, scale)
           - spectral_radius(w - eps * np.eye(len(w))[e], CYCLE_SRC, CYCLE_DST, 6, scale)) / (2 * eps)
          for e in range(len(w))]
    np.testing.assert_allclose(grad, fd, atol=1e-5)


def test_sign_penalty():
    sign = torch.tensor([1.0, -1.0, 0.0])
    assert float(sign_violation(torch.tensor([0.3, -0.2, -5.0]), sign)) == 0.0  # consistent; unknown sign free
    assert float(sign_violation(torch.tensor([-0.3, 0.2, 1.0]), sign)) == pytest.approx(0.5)


def _tiny(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(0, 3, (n, 3)), columns=["TF0", "TF1", "TF2"])
    y = pd.DataFrame({"G0": 0.5 * x["TF0"] + 0.1 * rng.normal(size=n), "G1": 2 - 0.4 * x["TF1"],
                      "G2": 0.3 * x["TF2"] + 0.2 * x["TF0"]})
    net = pd.DataFrame({"source": ["TF0", "TF1", "TF2", "TF0", "TF0"], "target": ["G0", "G1", "G2", "G2", "TF1"],
                        "weight": [1.0, -1.0, 1.0, 1.0, 1.0]})
    return x, y, net


def test_fit_is_deterministic_and_learns():
    x, y, net = _tiny()
    a = LembasRegressor(network=net, updates=150, batch_size=16, random_state=1).fit(x, y)
    b = LembasRegressor(network=net, updates=150, batch_size=16, random_state=1).fit(x, y)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    baseline = ((y - y.mean()) ** 2).to_numpy().mean()
    assert ((a.predict(x) - y.to_numpy()) ** 2).mean() < 0.5 * baseline
    assert a.history_["fit_loss"].iloc[-1] < a.history_["fit_loss"].iloc[0]
    diag = a.steady_state(x)
    assert len(diag) == len(x) and (diag["residual"] < 1e-5).all()


def test_new_data_with_other_genes_is_named():
    x, y, net = _tiny()
    model = LembasRegressor(network=net, updates=20, batch_size=16).fit(x, y)
    with pytest.raises(GeneMismatchError, match=r"missing gene\(s\) 'TF2'.*extra gene\(s\) 'TF9'"):
        model.predict(x.rename(columns={"TF2": "TF9"}))


def test_output_without_incoming_edge_is_an_error():
    x, y, net = _tiny()
    with pytest.raises(DataValidationError, match=r"output gene\(s\) 'G1' have no incoming prior edge"):
        LembasRegressor(network=net[net["target"] != "G1"], updates=5).fit(x, y)


def _random_network(n=300, e=1500, seed=0):
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, e), rng.integers(0, n, e)
    keep = src != dst
    return rng.uniform(-0.3, 0.5, keep.sum()), src[keep], dst[keep], rng.uniform(0.2, 1.0, n)


def test_warm_started_tracker_matches_arpack_and_its_gradient():
    w, src, dst, scale = _random_network()
    n = 300
    tracker = SpectralTracker(n)
    rng = np.random.default_rng(1)
    for step in range(5):  # small moves, as between training updates
        w = w + rng.normal(scale=1e-3, size=len(w))
        rho, grad = spectral_radius_gradient(w, src, dst, n, scale, tracker=tracker)
        rho_ref, grad_ref = spectral_radius_gradient(w, src, dst, n, scale)
        assert rho == pytest.approx(rho_ref, rel=1e-6)
        np.testing.assert_allclose(grad, grad_ref, atol=1e-6 * max(1.0, np.abs(grad_ref).max()))
    assert tracker.fallbacks == 0


def test_tracker_falls_back_without_a_dominant_eigenvalue():
    n = 100
    src = np.arange(n)
    tracker = SpectralTracker(n)
    rho, _, _, _ = tracker(np.full(n, 0.9), src, (src + 1) % n, np.ones(n))  # 100-cycle: all |eigenvalues| 0.9
    assert rho == pytest.approx(0.9, rel=1e-5) and tracker.fallbacks == 1


def test_adjoint_soft_clipping_bounds_the_gradient(cyclic):
    w, b, u, target = cyclic
    ((SteadyState.apply(w, b, u, _net()) - target) ** 2).sum().backward()
    free = u.grad.clone()
    u.grad = None
    net = {**_net(), "clip": 1e-3}
    ((SteadyState.apply(w, b, u, net) - target) ** 2).sum().backward()
    assert float(free.abs().max()) > 1.0 + 1e-3
    assert float(u.grad.abs().max()) < 1.0 + 1e-3  # beyond the clip, tanh adds less than 1


def test_one_cycle_schedule_and_uniform_state_loss_follow_lembas():
    # the ligand screen: 1e-4 -> 1e-3 at epoch 1,000 -> 1e-5 from 95% of 8,000 epochs on
    assert one_cycle_lr(0, 8000, 1e-3, 1e-4, 1e-5, 1000) == pytest.approx(1e-4)
    assert one_cycle_lr(1000, 8000, 1e-3, 1e-4, 1e-5, 1000) == pytest.approx(1e-3)
    assert one_cycle_lr(500, 8000, 1e-3, 1e-4, 1e-5, 1000) == pytest.approx(5.5e-4)
    assert one_cycle_lr(7700, 8000, 1e-3, 1e-4, 1e-5, 1000) == pytest.approx(1e-5)
    # states spread exactly like U(0, 1) up to the grid: only the max/min terms remain
    grid = torch.linspace(0, 1, 10001, dtype=torch.float64)[:, None]
    assert float(uniform_state_loss(grid, 1.0)) < 1e-7
    flat = torch.full((100, 3), 0.5, dtype=torch.float64)
    expected = 3 * ((1 / 12) ** 2 + 0.5**2 + 0.5**2)  # variance 0 and max/min 0.5 away, mean on target
    assert float(uniform_state_loss(flat, 1.0)) == pytest.approx(expected)
    assert float(uniform_state_loss(-flat, 1.0)) > float(uniform_state_loss(flat, 1.0))  # non-positive maxima


def test_numpy_training_gradients_equal_torch_autograd():
    """The hand-written gradients of every loss term equal autograd through SteadyState."""
    from grnbench.tasks.target_expression.lembas import Trainer as _Trainer

    x, y, net = _tiny(n=12)
    est = LembasRegressor(network=net, updates=1, batch_size=12, input_noise=0.0, uniform_factor=0.3,
                          input_bias_factor=0.2, sign_factor=0.5, l2=1e-2, spectral_factor=0.0, clip=None,
                          bwd_tol=1e-14, tol=1e-14, max_steps=2000, bwd_steps=2000).fit(x, y)
    rng = np.random.default_rng(0)
    xs = (x.to_numpy() - est.x_min_) / est.x_span_
    ys = (y.to_numpy() - est.y_min_) / est.y_span_
    trainer = _Trainer(est, xs, ys, rng)
    trainer.p["w"] = trainer.p["w"] + rng.normal(scale=0.05, size=len(trainer.p["w"]))  # some sign violations
    trainer.state = rng.uniform(0, 1, trainer.state.shape)
    idx = np.array([0, 3, 5, 7])
    grads = {}
    trainer._adam = lambda grad, lr: grads.update(grad)
    trainer.update(idx, lr=0.0)
    # the same loss with torch autograd
    w = torch.tensor(trainer.p["w"], requires_grad=True)
    b = torch.tensor(trainer.p["b"], requires_grad=True)
    a = torch.tensor(trainer.p["a"], requires_grad=True)
    c = torch.tensor(trainer.p["c"], requires_grad=True)
    u = torch.zeros((len(idx), len(est.nodes_)), dtype=torch.float64)
    u[:, torch.as_tensor(est.in_idx_)] = est.input_amplitude * torch.as_tensor(xs[idx])
    h = SteadyState.apply(w, b, u, est._net(len(est.nodes_)))
    pred = a * h[:, torch.as_tensor(est.out_idx_)] + c
    loss = torch.mean((pred - torch.as_tensor(ys[idx])) ** 2) + 0.5 * sign_violation(w, torch.as_tensor(est.sign_))
    loss = loss + 1e-2 * (torch.sum(w**2) + torch.sum(b**2)) + 1e-4 * torch.sum((a - est.output_amplitude) ** 2)
    loss = loss + 0.2 * torch.sum(b[torch.as_tensor(est.in_idx_)] ** 2)
    full = torch.as_tensor(trainer.state).clone()
    full[torch.as_tensor(idx)] = h
    loss = loss + 0.3 * uniform_state_loss(full, 1.0 / est.output_amplitude)
    loss.backward()
    for name, ref in (("w", w.grad), ("b", b.grad), ("a", a.grad)):
        np.testing.assert_allclose(grads[name], ref.numpy(), rtol=1e-6, atol=1e-9)


def test_warm_started_adjoint_gives_the_cold_gradients():
    """Starting the adjoint from the previous update's adjoint reaches the same fixed point (to bwd_tol)."""
    from grnbench.tasks.target_expression.lembas import Trainer

    x, y, net = _tiny(n=12)
    kw = dict(network=net, updates=1, batch_size=12, input_noise=0.0, uniform_factor=0.3, spectral_factor=0.0,
              bwd_tol=1e-13, tol=1e-13, max_steps=2000, bwd_steps=2000)
    grads = {}
    for warm in (False, True):
        est = LembasRegressor(warm_start=warm, **kw).fit(x, y)
        xs = (x.to_numpy() - est.x_min_) / est.x_span_
        ys = (y.to_numpy() - est.y_min_) / est.y_span_
        trainer = Trainer(est, xs, ys, np.random.default_rng(0))
        idx = np.arange(6)
        trainer._adam = lambda grad, lr: None
        trainer.update(idx, lr=0.0)  # fills the warm states
        trainer.p["w"] = trainer.p["w"] * 1.01  # a small step, as between two epochs
        got = {}
        trainer._adam = lambda grad, lr, got=got: got.update(grad)
        trainer.update(idx, lr=0.0)
        grads[warm] = got
    for name in ("w", "b", "a"):
        np.testing.assert_allclose(grads[True][name], grads[False][name], rtol=1e-8, atol=1e-11)
