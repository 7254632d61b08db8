"""RegDiffusion: GRN inference by learning to denoise expression through a gene adjacency matrix.

RegDiffusion (Zhu & Slonim 2024, "From noise to knowledge: diffusion probabilistic model-based
neural inference of gene regulatory networks", J Comput Biol, doi:10.1089/cmb.2024.0607) adds Gaussian noise to each cell's normalised expression following a diffusion schedule and
trains a network to predict that noise; the network passes gene features through a learnable
gene x gene adjacency matrix, and the trained matrix is the inferred network. It is run here
through its authors' package (``regdiffusion`` 0.2.3 on PyPI, :class:`regdiffusion.RegDiffusionTrainer`)
with the package's defaults, which are the paper's: T = 5,000 diffusion steps, noise 1e-4 -> 0.02,
hidden sizes (16, 16, 16), adjacency initialised at 5 / (n_genes - 1), Adam (lr 1e-3 for the
network, 1 / (50 (n_genes - 1)) for the adjacency; weight decay 0.1 / 0.01), L1 0.25 on the
adjacency, adjacency dropout 0.3, batches of 128 cells, 1,000 steps.

What this wrapper adds, and every deviation from calling the package directly:

* genes constant across the cells (which the package rejects) and cells whose genes are all
  equal (which it cannot normalise) are left out of the fit; edges from or to a left-out gene
  score 0;
* the adjacency is read in float32 (``model.get_adj_() / gene_reg_norm``, exactly the package's
  ``get_adj`` before its cast to float16), because float16 rounding ties many edges and ties
  distort AUPRC and EPR;
* the score of an edge is the absolute adjacency weight (the package's GRN object ranks edges
  by it too); self-edges score 0;
* the package's own seed (``seed=random_state``) seeds torch, numpy and Python's generators;
  the global numpy and Python states are restored after the fit;
* with fewer cells than the batch size the package samples each batch's cells with
  replacement (its sampler always does) and warns; the warning is silenced here;
* torch runs on ``n_threads`` threads (1 makes CPU results repeatable), the progress bar
  follows ``progress``, and the package's training log is kept in memory (its logger would
  otherwise create a ``result_logs/`` folder in the working directory).
"""

from __future__ import annotations

import contextlib
import random
import warnings
from functools import partial
from unittest import mock

import numpy as np

from ...errors import DataValidationError
from ...models.base import show_progress, torch_threads
from ...models.device import resolve_device
from .estimators import EdgeScorer

__all__ = ["RegDiffusionScorer", "REGDIFFUSION_REF"]

REGDIFFUSION_REF = ("RegDiffusion (Zhu & Slonim 2024, J Comput Biol, doi:10.1089/cmb.2024.0607) via the authors' "
                    "regdiffusion 0.2.3")


@contextlib.contextmanager
def _kept_global_rng():
    """Restore numpy's and Python's global random states after a block that reseeds them."""
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


class RegDiffusionScorer(EdgeScorer):
    """RegDiffusion as an edge scorer (a scikit-learn estimator; see the module notes).

    Parameters
    ----------
    n_steps : int
        Training iterations (1,000, the paper's default).
    batch_size : int
        Cells per iteration (128).
    T : int
        Diffusion steps of the noise schedule (5,000).
    hidden_dims : tuple of int
        Feature sizes of the denoising network; the first is the gene-embedding size ((16, 16, 16)).
    sparse_loss_coef : float
        L1 weight on the adjacency (0.25).
    adj_dropout : float
        Share of adjacency entries dropped per iteration (0.3).
    n_threads : int
        torch threads during the fit.
    progress : bool or None
        tqdm bar over iterations (None: unless ``$GRNBENCH_PROGRESS=0``).
    regulators, targets, random_state
        See :class:`~grnbench.tasks.grn_inference.estimators.EdgeScorer`; ``random_state`` is the
        package's ``seed``.
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Attributes
    ----------
    scores_ : pandas.DataFrame, shape (n_regulators, n_targets)
        |adjacency weight| in units of the regulatory norm 1 / (n_genes - 1), regulators as rows.
    n_genes_fitted_ : int
        Genes the network was trained on (the non-constant ones).
    n_cells_fitted_ : int
    history_ : list of dict
        Training loss per iteration (``step``, ``train_loss``).
    loss_ : float
        Mean training loss over the last 100 iterations.
    device_ : str
    """

    def __init__(self, n_steps=1000, batch_size=128, T=5000, hidden_dims=(16, 16, 16), sparse_loss_coef=0.25,
                 adj_dropout=0.3, n_threads=1, progress=None, regulators=None, targets=None, random_state=0,
                 device="auto"):
        super().__init__(regulators=regulators, targets=targets, random_state=random_state)
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.T = T
        self.hidden_dims = hidden_dims
        self.sparse_loss_coef = sparse_loss_coef
        self.adj_dropout = adj_dropout
        self.n_threads = n_threads
        self.progress = progress
        self.device = device

    def _score(self, x, genes, reg_idx, tgt_idx, interventions, perturbation):
        import tempfile

        import regdiffusion
        import regdiffusion.trainer as rd_trainer
        from tqdm.auto import tqdm

        keep_genes = np.flatnonzero(x.std(axis=0) > 0)
        cells = np.flatnonzero(np.ptp(x[:, keep_genes], axis=1) > 0) if len(keep_genes) else np.array([], int)
        if len(keep_genes) < 2 or len(cells) < 2:
            raise DataValidationError(f"RegDiffusion needs at least 2 genes that vary across cells and 2 cells whose "
                                      f"genes are not all equal; X has {len(keep_genes)} and {len(cells)}")
        dev = resolve_device(self.device)
        bar = partial(tqdm, disable=not show_progress(self.progress), desc="RegDiffusion")
        seed = 0 if self.random_state is None else int(self.random_state)
        with torch_threads(self.n_threads), _kept_global_rng(), warnings.catch_warnings(), \
                tempfile.TemporaryDirectory() as logs:
            warnings.filterwarnings("ignore", message="Batch size needs to be smaller")
            with mock.patch.object(rd_trainer, "tqdm", bar):
                trainer = regdiffusion.RegDiffusionTrainer(
                    x[np.ix_(cells, keep_genes)].astype(np.float32), T=self.T, hidden_dims=list(self.hidden_dims),
                    sparse_loss_coef=self.sparse_loss_coef, adj_dropout=self.adj_dropout,
                    batch_size=self.batch_size, n_steps=self.n_steps, device=str(dev), seed=seed,
                    logger=regdiffusion.LightLogger(result_dir=logs))
                trainer.train()
            model = trainer.model
            adj = model.get_adj_().detach().cpu().numpy().astype(np.float64) / float(model.gene_reg_norm)
        log = trainer.logger.mem[trainer.note_id]["log"]
        self.history_ = [{"step": int(k), "train_loss": float(v["train_loss"])} for k, v in sorted(log.items())]
        self.loss_ = float(np.mean([h["train_loss"] for h in self.history_[-100:]]))
        self.n_genes_fitted_, self.n_cells_fitted_, self.device_ = len(keep_genes), len(cells), str(dev)
        full = np.zeros((x.shape[1], x.shape[1]))
        full[np.ix_(keep_genes, keep_genes)] = np.abs(adj)  # adj[source, target]
        return full[np.ix_(reg_idx, tgt_idx)]

