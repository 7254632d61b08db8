"""CaTran (Causal Transformer): gene embeddings + attention as a soft adjacency matrix.

The model as described in the seed write-up ("CaTran: ultra-light neural network for
predicting gene-gene interactions from single-cell data", OpenReview Wf0QRYUkhwV, A. Bakulin;
CausalBench challenge entry, Chevalley et al. 2022, arXiv:2210.17283):

* every gene has a learnable embedding (d = 40);
* attention: one linear layer (shared weights) transforms the embeddings, the matrix of their
  dot products is soft-maxed over the *incoming* edges of each gene (``A[t, s]``: weight of
  regulator s in target t's update; self-edges masked);
* each gene's embedding plus its expression value goes through linear -> BatchNorm -> linear,
  then an attention block (``h_t <- sum_s A[t, s] h_s``, BatchNorm, linear, BatchNorm, SiLU),
  then two linear layers give the predicted expression of every gene;
* self-supervision: mini-batches of up to 2,048 cells x 500 genes; in each cell 80% of the genes
  are hidden by shuffling their values among the hidden entries; Huber loss on hidden
  entries (weight 0.7) plus visible entries (weight 0.3);
* Lion optimiser (Chen et al. 2023, arXiv:2302.06675; the write-up's citation names a different
  "Lion") with lr 1e-3 and weight decay 0.05 for 25 epochs; weights initialised N(0, 1e-3)
  (BatchNorm at 1 / 0);
* interventional loss (``interventional=True``): for each gene p perturbed in some cells of the
  mini-batch, the per-gene Huber reconstruction error in cells where p is perturbed (e1) and
  elsewhere (e0) give the importance c = sigmoid(e0 / e1 - 1) of p for every gene; the attention
  on p is pulled towards c with a Huber penalty (weight ``interventional_weight``, 10 in the
  author's code). Because soft-maxed attention sums to one per target, the penalty acts on the
  sigmoid of the attention logits, as the author's code does during training.
* the exported network is the soft-maxed attention of the full gene set, times the number of
  candidate regulators (so a uniform attention scores 1); edges are ranked by it.

Deviations from the write-up, all stated (the chapter has the table): inputs are the task's
scale (log-normalised real data; the write-up found raw counts best); biases are initialised
N(0, 1e-3) like the weights (the write-up names only weights); self-attention is masked; every
candidate edge is exported, directed, instead of the top 1,000 as 0/1. ``min_steps`` (the
``catran_seed`` model: 2,500) restores the write-up's number of optimiser steps on small data.
The author's public code (github.com/artemy-bakulin/causal, ``catran.py``) is a different version
(sigmoid attention in training, no linear layer before the dot products, concatenated inputs, a
shared attention block applied 11 times, embeddings N(0, 0.1), an undirected export); the chapter
lists every difference.

Parameter count: 40 x n_genes (embeddings) + 8,481 (five 40 x 40 linear layers, three
BatchNorms, the 40 -> 1 output): the write-up's "9,000 + 40 x number of genes" estimate
(checked in ``tests/test_grn_inference.py``).

One epoch visits every cell once; each cell batch is split into random gene chunks of at most
500 genes, one optimiser step per chunk, so every gene is trained every epoch.
"""

from __future__ import annotations

import numpy as np

from ...errors import DataValidationError
from ...models.base import seed_everything, show_progress, torch_deterministic, torch_threads
from ...models.device import resolve_device
from .estimators import EdgeScorer

__all__ = ["CaTranScorer", "build_catran", "n_parameters"]


def build_catran(n_genes: int, embed_dim: int = 40):
    """The CaTran network for ``n_genes`` genes (a :class:`torch.nn.Module`, weights N(0, 1e-3)).

    ``forward(x, genes)``: ``x`` (cells, g) expression of the genes ``genes`` (g indices) ->
    (predicted expression (cells, g), attention logits (g, g)).
    """
    import torch
    from torch import nn

    class CaTran(nn.Module):
        def __init__(self):
            super().__init__()
            d = embed_dim
            self.embedding = nn.Embedding(n_genes, d)
            self.att = nn.Linear(d, d)
            self.lin1, self.bn1, self.lin2 = nn.Linear(d, d), nn.BatchNorm1d(d), nn.Linear(d, d)
            self.bn_att, self.lin_att, self.bn_out = nn.BatchNorm1d(d), nn.Linear(d, d), nn.BatchNorm1d(d)
            self.act = nn.SiLU()
            self.out1, self.out2 = nn.Linear(d, d), nn.Linear(d, 1)
            for m in self.modules():
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(m.weight, 0.0, 1e-3)
                    if getattr(m, "bias", None) is not None:
                        nn.init.normal_(m.bias, 0.0, 1e-3)

        @staticmethod
        def _bn(bn, h):
            b, g, d = h.shape
            return bn(h.reshape(b * g, d)).reshape(b, g, d)

        def logits(self, genes):
            q = self.att(self.embedding(genes))
            logit = q @ q.T
            return logit.masked_fill(torch.eye(len(genes), dtype=torch.bool, device=logit.device), float("-inf"))

        def forward(self, x, genes):
            logit = self.logits(genes)
            a = torch.softmax(logit, dim=1)  # a[t, s]: softmax over the incoming edges of target t
            h = self.embedding(genes)[None, :, :] + x[:, :, None]
            h = self.lin2(self._bn(self.bn1, self.lin1(h)))
            h = torch.einsum("ts,bsd->btd", a, h)
            h = self.act(self._bn(self.bn_out, self.lin_att(self._bn(self.bn_att, h))))
            return self.out2(self.out1(h)).squeeze(-1), logit

    return CaTran()


def n_parameters(n_genes: int, embed_dim: int = 40) -> int:
    """Trainable parameters of :func:`build_catran` (40 x n_genes + 8,481 for d = 40)."""
    return sum(p.numel() for p in build_catran(n_genes, embed_dim).parameters())


class CaTranScorer(EdgeScorer):
    """CaTran as a scikit-learn estimator (see the module notes for the model).

    Parameters
    ----------
    interventional : bool
        Add the interventional loss (needs ``interventions`` in :meth:`fit`).
    embed_dim : int
        Gene embedding size (40).
    epochs : int
        Passes over the cells (25).
    min_steps : int or None
        Train for at least this many optimiser steps: the number of epochs becomes
        ``max(epochs, ceil(min_steps / steps per epoch))`` (``catran_seed``: 2,500, the write-up's
        regime of about 100 cell batches per epoch for 25 epochs; None: ``epochs``).
    batch_cells, batch_genes : int
        Mini-batch size (2,048 cells x 500 genes).
    hidden_fraction : float
        Share of each cell's genes hidden by shuffling (0.8).
    hidden_weight, visible_weight : float
        Huber-loss weights of hidden and visible entries (0.7, 0.3).
    interventional_weight : float
        Weight of the interventional loss (10).
    lr, weight_decay : float
        Lion learning rate and weight decay (1e-3, 0.05).
    n_threads : int
        torch threads during fit (1 makes results bit-for-bit repeatable).
    progress : bool or None
        tqdm bar over epochs (None: unless ``$GRNBENCH_PROGRESS=0``).
    regulators, targets, random_state
        See :class:`~grnbench.tasks.grn_inference.estimators.EdgeScorer`.
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``
        (:func:`grnbench.models.device.resolve_device`); the fitted network is kept on the CPU.

    Attributes
    ----------
    scores_ : pandas.DataFrame
        Soft-maxed attention x number of regulators, regulators as rows.
    history_ : list of dict
        Mean training loss per epoch (``epoch``, ``step``: steps taken so far, ``train_loss``);
        with more than 100 epochs, one entry per ``ceil(epochs_ / 100)`` epochs (the mean over them).
    n_parameters_ : int
    n_steps_ : int
        Optimiser steps taken.
    epochs_ : int
        Epochs trained (``epochs``, or more under ``min_steps``).
    device_ : str
        Where it trained.
    """

    def __init__(self, interventional=False, embed_dim=40, epochs=25, min_steps=None, batch_cells=2048, batch_genes=500,
                 hidden_fraction=0.8, hidden_weight=0.7, visible_weight=0.3, interventional_weight=10.0, lr=1e-3,
                 weight_decay=0.05, n_threads=1, progress=None, regulators=None, targets=None, random_state=0,
                 device="auto"):
        super().__init__(regulators=regulators, targets=targets, random_state=random_state)
        self.interventional = interventional
        self.embed_dim = embed_dim
        self.epochs = epochs
        self.min_steps = min_steps
        self.batch_cells = batch_cells
        self.batch_genes = batch_genes
        self.hidden_fraction = hidden_fraction
        self.hidden_weight = hidden_weight
        self.visible_weight = visible_weight
        self.interventional_weight = interventional_weight
        self.lr = lr
        self.weight_decay = weight_decay
        self.n_threads = n_threads
        self.progress = progress
        self.device = device

    def _score(self, x, genes, reg_idx, tgt_idx, interventions, perturbation):
        import torch
        from lion_pytorch import Lion
        from tqdm.auto import tqdm

        n_cells, n_genes = x.shape
        pert = np.full(n_cells, -1, dtype=np.int64)
        known = interventions != ""
        pert[known] = genes.get_indexer(interventions[known].astype(str))
        if self.interventional and not (pert >= 0).any():
            raise DataValidationError("catran_interventional needs cells whose intervention names a gene of X; "
                                      "none does")
        dev = resolve_device(self.device)
        with torch_threads(self.n_threads), torch_deterministic():
            rng = seed_everything(self.random_state)
            net = build_catran(n_genes, self.embed_dim).to(dev)
            self.n_parameters_ = sum(p.numel() for p in net.parameters())
            opt = Lion(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            huber = torch.nn.HuberLoss()
            xt = torch.as_tensor(x, dtype=torch.float32).to(dev)
            pt = torch.as_tensor(pert).to(dev)
            self.history_, self.n_steps_ = [], 0
            n_chunks = int(np.ceil(n_genes / self.batch_genes))
            # steps per epoch: cell batches of at least 2 cells (BatchNorm) x gene chunks
            per_epoch = n_chunks * sum(min(self.batch_cells, n_cells - c0) >= 2
                                       for c0 in range(0, n_cells, self.batch_cells))
            self.epochs_ = int(self.epochs)
            if self.min_steps and per_epoch:
                self.epochs_ = max(self.epochs_, int(np.ceil(self.min_steps / per_epoch)))
            every = int(np.ceil(self.epochs_ / 100))
            losses = []
            for epoch in tqdm(range(self.epochs_), disable=not show_progress(self.progress), desc="CaTran"):
                net.train()
                cells = rng.permutation(n_cells)
                for c0 in range(0, n_cells, self.batch_cells):
                    cb = cells[c0:c0 + self.batch_cells]
                    if len(cb) < 2:  # BatchNorm needs 2 cells
                        continue
                    gperm = rng.permutation(n_genes)
                    for chunk in np.array_split(gperm, n_chunks):
                        loss = self._step(net, xt, pt, torch.as_tensor(cb).to(dev),
                                          torch.as_tensor(np.sort(chunk)).to(dev), rng, huber)
                        opt.zero_grad()
                        loss.backward()
                        opt.step()
                        losses.append(float(loss.detach()))
                        self.n_steps_ += 1
                if (epoch + 1) % every == 0 or epoch + 1 == self.epochs_:
                    self.history_.append({"epoch": epoch, "step": self.n_steps_,
                                          "train_loss": float(np.mean(losses)) if losses else np.nan})
                    losses = []
            net.eval()
            with torch.no_grad():
                a = torch.softmax(net.logits(torch.arange(n_genes, device=dev)), dim=1).cpu().numpy().astype(np.float64)
        self.device_ = str(dev)
        # a[t, s] -> score of s -> t, regulators as rows
        return a[np.ix_(tgt_idx, reg_idx)].T * (len(reg_idx) - 1 if len(reg_idx) > 1 else 1)

    def _step(self, net, xt, pt, cells, genes, rng, huber):
        import torch

        x = xt[cells][:, genes]
        b, g = x.shape
        n_hide = int(round(self.hidden_fraction * g))
        hidden = np.zeros((b, g), dtype=bool)
        if n_hide:
            cols = np.argsort(rng.random((b, g)), axis=1)[:, :n_hide]
            hidden[np.arange(b)[:, None], cols] = True
        mask = torch.as_tensor(hidden).to(x.device)
        corrupted = x.clone()
        vals = corrupted[mask]
        corrupted[mask] = vals[torch.as_tensor(rng.permutation(vals.numel())).to(x.device)]
        pred, logit = net(corrupted, genes)
        loss = 0.0
        if mask.any():
            loss = loss + self.hidden_weight * huber(pred[mask], x[mask])
        if (~mask).any():
            loss = loss + self.visible_weight * huber(pred[~mask], x[~mask])
        if self.interventional:
            loss = loss + self.interventional_weight * self._interventional_loss(x, pred, logit, pt[cells], genes)
        return loss

    @staticmethod
    def _interventional_loss(x, pred, logit, pert, genes):
        import torch

        err = torch.nn.functional.huber_loss(pred, x, reduction="none")  # (b, g)
        terms = []
        pos = {int(g): i for i, g in enumerate(genes.tolist())}
        for p in torch.unique(pert).tolist():
            if p < 0 or p not in pos:
                continue
            on = pert == p
            if on.all():
                continue
            e1, e0 = err[on].mean(0).detach(), err[~on].mean(0).detach()
            c = torch.sigmoid(e0 / e1.clamp_min(1e-12) - 1)  # importance of p for every gene of the chunk
            att = torch.sigmoid(logit[:, pos[p]])  # attention of every target on p
            keep = torch.arange(len(genes), device=att.device) != pos[p]
            terms.append(torch.nn.functional.huber_loss(att[keep], c[keep]))
        return torch.stack(terms).mean() if terms else torch.zeros((), device=x.device)
