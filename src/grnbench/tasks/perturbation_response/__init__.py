"""Perturbation response: predict the expression state after a perturbation.

The seed's encoder-decoder attention model against no-change, training-mean, additive, linear
(PCA gene embeddings) and nearest-neighbour baselines on Kang IFN-beta (held-out cell type),
DREAM4 knockouts (leave one knockout out) and pbmc68k cell pairs. See ``api.py``.
"""

from .datasets import PerturbationData, PerturbationInput, prepare

__all__ = ["PerturbationData", "PerturbationInput", "prepare"]
