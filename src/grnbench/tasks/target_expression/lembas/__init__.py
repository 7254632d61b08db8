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
from .estimator import LembasRegressor
from .numerics import (SpectralTracker, SteadyState, mml, mml_derivative, network_structure, one_cycle_lr,
                       sign_violation, spectral_radius, spectral_radius_gradient, spectral_target, uniform_state_loss)
from .trainer import Trainer

__all__ = ["mml", "mml_derivative", "spectral_radius", "spectral_radius_gradient", "spectral_target", "sign_violation",
           "network_structure", "LembasRegressor", "SteadyState", "SpectralTracker", "uniform_state_loss",
           "one_cycle_lr", "Trainer"]
