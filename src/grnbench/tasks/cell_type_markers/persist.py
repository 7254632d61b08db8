"""PERSIST: supervised gene selection with a differentiable input layer (the published comparator).

PERSIST (Covert, Gala, Wang, Svoboda, Sümbül & Lee 2023, "Predictive and robust gene selection for
spatial transcriptomics", Nat Commun 14:2091, doi:10.1038/s41467-023-37392-1), implemented in torch
from the paper and its authors' code (github.com/iancovert/persist: ``selection.py``, ``layers.py``,
``models.py``; no maintained package of it installs: ``persist`` on PyPI is an unrelated archiving
library). The supervised variant (cross-entropy on cell types) with the code's defaults:

* the model is an MLP (hidden 128, 128, ReLU) behind a selection layer, trained with Adam (lr 1e-3),
  mini-batches of 64 cells (the last incomplete batch dropped), at most 250 epochs, while the
  selection layer's temperature is annealed geometrically from 10 to 0.01 over all the steps;
* **eliminate** (stage 1): a ``BinaryGates`` layer (one BinConcrete gate per gene, initial
  probability 0.99, logits scaled by 1 / 0.5) with the penalty ``lam * mean(sum of gates)``; ``lam``
  starts at 1e-4 and a modified secant search (on 1 / (1 + genes kept)) moves it until the genes
  with gate probability > 0.5 are within 20% of the target (500); warm start when too many genes
  survive, a fresh model when too few; at most 10 trials. Training stops early once every gate is
  within 0.01 of 0 or 1;
* **select** (stage 2): a ``BinaryMask`` layer (k Concrete selectors over the surviving genes,
  logits scaled by 1 / (1/3), mask = element-wise max of the k samples) picks exactly k genes;
  after every epoch a selector that collides with another (same argmax) is re-initialised from
  N(0, 1); training stops early once the k most-used genes are sampled with mean > 0.99.

How it becomes a *ranking* (this task scores the top-k genes of one ranking for k in 8 ... 256):
PERSIST selects a set per k, and sets for different k need not be nested. Here the selections are
run for the task's k from the largest down, each restricted to the genes selected for the next
larger k, so the sets are nested; the ranking lists the 8 selected genes first (by selector
probability), then the other genes of the 16-gene set, and so on, then the remaining stage-1
survivors by gate probability, then the eliminated genes by gate probability. Restricting each
selection to the previous set is a deviation from running ``select(k)`` independently for each k.

Other deviations, all stated:

* validation cells are used only to report the loss (as in the code, where annealed training
  never stops on it);
* if the secant search does not reach the target within 10 trials, the ``target`` genes with the
  highest gate probabilities of the last trial are kept (``eliminate_converged_`` = False) instead
  of raising an error;
* random numbers come from a generator seeded by ``random_state`` (batches, Concrete noise,
  re-initialisations), so a fit is repeatable; inputs are the task's log-normalised expression,
  not binarised (PERSIST's binarisation targets FISH read-outs);
* with fewer training cells than one mini-batch (Yan 2013's embryo cells), one batch holds them
  all (``batch_size_``). PERSIST was built for thousands of cells: with few cells there are few
  optimiser steps, the gates and selectors move little from their start, and the selections are
  close to random; the chapter's numbers show how much.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.preprocessing import LabelEncoder

from ...errors import DataValidationError
from ...models.base import GeneAwareMixin, show_progress, split_validation, torch_threads
from ...models.device import resolve_device

__all__ = ["PersistRanker", "PERSIST_REF", "modified_secant"]

PERSIST_REF = ("PERSIST (Covert et al. 2023, Nat Commun 14:2091, doi:10.1038/s41467-023-37392-1), implemented from "
               "the paper and github.com/iancovert/persist")


def modified_secant(x0: float, y0: float, y1: float, x: np.ndarray, y: np.ndarray) -> float:
    """PERSIST's robust secant step for the penalty strength ``lam`` (``selection.modified_secant_method``).

    The slope through the latest point ``(x0, y0)`` is a weighted least-squares fit to all earlier
    points (weights 1 / |x - x0|), clipped below at 1e-6; the next guess is where that line reaches
    ``y1``.

    Parameters
    ----------
    x0, y0 : float
        Latest ``lam`` and its ``1 / (1 + genes kept)``.
    y1 : float
        Target ``1 / (1 + target)``.
    x, y : ndarray, shape (n_earlier,)
        Earlier points (the first is ``lam = 0``, all genes kept).

    Returns
    -------
    float
        The next ``lam`` (before PERSIST's clipping to [0.1 lam, 10 lam]).
    """
    w = 1.0 / np.abs(x - x0)
    slope = np.sum(w * (x - x0) * (y - y0)) / np.sum(w * (x - x0) ** 2)
    return float(x0 + (y1 - y0) / max(slope, 1e-6))


class PersistRanker(GeneAwareMixin, BaseEstimator):
    """PERSIST as a gene ranker (see the module notes for the method and its deviations).

    Parameters
    ----------
    ks : tuple of int
        Panel sizes to select, nested (the task's k); those not below the number of genes are
        skipped, and with none left one panel of half the genes is selected.
    eliminate_target : int
        Genes kept by stage 1 (500); stage 1 is skipped when there are at most
        ``eliminate_target * (1 + tol)`` candidates.
    hidden : tuple of int
        MLP widths ((128, 128)).
    lr : float
        Adam learning rate (1e-3).
    batch_size, max_epochs : int
        64 cells, 250 epochs.
    start_temperature, end_temperature : float
        Annealing of the selection layers (10 -> 0.01).
    lam_init, tol, max_trials : float, float, int
        Stage-1 penalty search (1e-4, 0.2, 10).
    n_threads : int
        torch threads (1 makes CPU results repeatable).
    progress : bool or None
        tqdm bar over the trainings (None: unless ``$GRNBENCH_PROGRESS=0``).
    random_state : int
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Attributes
    ----------
    ranking_ : list of str
        Genes, most informative first.
    panels_ : dict of int -> list of str
        The genes selected for each k.
    survivors_ : list of str
        Genes kept by stage 1 (all candidates when it was skipped).
    lam_trials_ : list of dict
        Stage-1 trials: ``lam`` and the genes it kept.
    eliminate_converged_ : bool
    batch_size_ : int
        Mini-batch size used (``batch_size``, or all training cells when fewer).
    history_ : list of dict
        Per training and epoch: ``stage``, ``epoch``, ``train_loss``, ``val_loss``.
    device_ : str
    """

    def __init__(self, ks=(8, 16, 32, 64, 128, 256), eliminate_target=500, hidden=(128, 128), lr=1e-3,
                 batch_size=64, max_epochs=250, start_temperature=10.0, end_temperature=0.01, lam_init=1e-4, tol=0.2,
                 max_trials=10, validation_fraction=0.15, n_threads=1, progress=None, random_state=0, device="auto"):
        self.ks = ks
        self.eliminate_target = eliminate_target
        self.hidden = hidden
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.start_temperature = start_temperature
        self.end_temperature = end_temperature
        self.lam_init = lam_init
        self.tol = tol
        self.max_trials = max_trials
        self.validation_fraction = validation_fraction
        self.n_threads = n_threads
        self.progress = progress
        self.random_state = random_state
        self.device = device

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, validation=None):
        """Run stage 1 (when needed) and the nested stage-2 selections; set ``ranking_``.

        Parameters
        ----------
        X : DataFrame or array, shape (n_cells, n_genes)
            Log-normalised expression of the candidate genes.
        y : array-like, shape (n_cells,)
            Cell-type labels.
        validation : tuple (X_val, y_val), optional
            Cells whose loss is reported; else ``validation_fraction`` of ``X``.

        Raises
        ------
        grnbench.errors.DataValidationError
            NaN in ``X``, fewer than 2 genes or fewer than 2 cell types.
        """
        import torch

        x, _ = self._record_genes(X)
        names = [str(g) for g in getattr(self, "feature_names_in_", range(x.shape[1]))]
        if not np.isfinite(x).all():
            raise DataValidationError("PERSIST: X contains NaN or infinite expression values")
        y = np.asarray(y)
        if y.shape != (x.shape[0],) or len(np.unique(y)) < 2:
            raise DataValidationError(f"PERSIST needs one label per cell and at least 2 cell types; got labels of "
                                      f"shape {y.shape} with {len(np.unique(y))} type(s)")
        if x.shape[1] < 2:
            raise DataValidationError(f"PERSIST needs at least 2 genes to select from; X has {x.shape[1]}")
        # the task's k below the number of genes; with none (a tiny gene set), one panel of half the genes
        ks = sorted({int(k) for k in self.ks if int(k) < x.shape[1]} or {x.shape[1] // 2}, reverse=True)
        enc = LabelEncoder().fit(y)
        codes = enc.transform(y)
        rng = np.random.default_rng(0 if self.random_state is None else int(self.random_state))
        val = None if validation is None else (validation[0], enc.transform(np.asarray(validation[1])))
        x, codes, xv, cv = split_validation(x, codes, val, self.validation_fraction, rng, self._check_genes)
        codes, cv = codes.ravel().astype(int), cv.ravel().astype(int)
        self.batch_size_ = min(int(self.batch_size), len(x))  # fewer cells than a batch: one batch of all
        self.classes_ = enc.classes_
        dev = resolve_device(self.device)
        self.history_, self.lam_trials_, self.panels_ = [], [], {}
        with torch_threads(self.n_threads):
            gen = torch.Generator().manual_seed(int(self.random_state or 0))
            torch.manual_seed(int(self.random_state or 0))
            data = tuple(torch.as_tensor(a).to(dev) for a in (x.astype(np.float32), codes, xv.astype(np.float32), cv))
            n_classes = len(self.classes_)
            all_idx = np.arange(x.shape[1])
            if x.shape[1] > self.eliminate_target * (1 + self.tol):
                survivors, gate_prob = self._eliminate(data, n_classes, gen, dev)
            else:
                survivors, gate_prob = all_idx, None
                self.eliminate_converged_ = True
            current, mask_prob = survivors, None
            for k in ks:
                if k >= len(current):
                    continue
                chosen, prob = self._select(data, current, k, n_classes, gen, dev)
                if mask_prob is None:
                    mask_prob = dict(zip(current.tolist(), prob.tolist()))
                self.panels_[k] = chosen
                current = chosen
        self.device_ = str(dev)
        # ranking: nested panels from the smallest, then the rest of the survivors, then the eliminated genes
        order: list[int] = []
        for k in sorted(self.panels_):
            order += [g for g in self.panels_[k] if g not in order]
        rest = [g for g in survivors.tolist() if g not in order]
        if mask_prob is not None:
            rest.sort(key=lambda g: -mask_prob.get(g, 0.0))
        order += rest
        if gate_prob is not None:
            order += [int(g) for g in np.argsort(-gate_prob, kind="stable") if g not in set(order)]
        self.ranking_ = [names[g] for g in order]
        self.panels_ = {k: [names[g] for g in v] for k, v in sorted(self.panels_.items())}
        self.survivors_ = [names[g] for g in survivors]
        return self

    # ------------------------------------------------------------------ stages
    def _eliminate(self, data, n_classes, gen, dev):
        target, tol = self.eliminate_target, self.tol
        n = data[0].shape[1]
        lam, lams, kept_list = float(self.lam_init), [0.0], [n]
        net = self._network(n, n_classes, "gates", None, gen).to(dev)
        self.eliminate_converged_ = False
        for trial in range(int(self.max_trials)):
            self._train(net, data, np.arange(n), lam=lam, stage=f"eliminate (lam={lam:.3g})", gen=gen)
            prob = net.gate_probs()
            kept = int((prob > 0.5).sum())
            self.lam_trials_.append({"trial": trial, "lam": lam, "genes_kept": kept})
            if abs(kept - target) <= target * tol:
                self.eliminate_converged_ = True
                return np.flatnonzero(prob > 0.5), prob
            nxt = modified_secant(lam, 1 / (1 + kept), 1 / (1 + target), np.array(lams), 1 / (1 + np.array(kept_list)))
            nxt = float(np.clip(nxt, 0.1 * lam, 10 * lam))
            if kept < target * (1 - tol):  # too sparse: gates do not reopen well, so start afresh
                net = self._network(n, n_classes, "gates", None, gen).to(dev)
            lams.append(lam)
            kept_list.append(kept)
            lam = nxt
        return np.sort(np.argsort(-prob, kind="stable")[:target]), prob

    def _select(self, data, current, k, n_classes, gen, dev):
        net = self._network(len(current), n_classes, "mask", k, gen).to(dev)
        self._train(net, data, current, lam=0.0, stage=f"select k={k}", gen=gen)
        logits = net.selector_logits()
        chosen = np.unique(logits.argmax(axis=1))
        prob = np.exp(logits - logits.max(axis=1, keepdims=True))
        prob = (prob / prob.sum(axis=1, keepdims=True)).max(axis=0)
        if len(chosen) < k:  # collisions left at the end: fill with the most probable other genes
            extra = [g for g in np.argsort(-prob, kind="stable") if g not in set(chosen)][:k - len(chosen)]
            chosen = np.sort(np.concatenate([chosen, extra]).astype(int))
        chosen_sorted = sorted(chosen.tolist(), key=lambda g: -prob[g])
        return np.asarray([current[g] for g in chosen_sorted]), prob

    # ------------------------------------------------------------------ network and training
    def _network(self, n_genes, n_classes, kind, k, gen):
        import torch
        from torch import nn

        hidden = tuple(self.hidden)

        class Persist(nn.Module):
            def __init__(self):
                super().__init__()
                if kind == "gates":  # BinaryGates: probability 0.99 at start, logits / 0.5
                    self.gamma = 0.5
                    init = -float(np.log(1 / 0.99 - 1)) * self.gamma
                    self.raw = nn.Parameter(torch.full((n_genes,), init))
                else:  # BinaryMask: k selectors at zero, logits / (1/3)
                    self.gamma = 1 / 3
                    self.raw = nn.Parameter(torch.zeros(k, n_genes))
                widths = (n_genes, *hidden, n_classes)
                self.fc = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
                self.temperature = 1.0

            def sample(self, n):
                logits = self.raw / self.gamma
                u = torch.rand((n, *logits.shape), generator=gen).to(logits.device)
                eps = torch.finfo(u.dtype).eps
                u = u.clamp(eps, 1 - eps)
                if kind == "gates":  # BinConcrete (torch's RelaxedBernoulli form, as PERSIST)
                    return torch.sigmoid((nn.functional.logsigmoid(logits) - nn.functional.logsigmoid(-logits)
                                          + torch.log(u) - torch.log(1 - u)) / self.temperature)
                g = -torch.log(-torch.log(u))  # Concrete samples of the k selectors, max over selectors
                return torch.softmax((logits + g) / self.temperature, dim=-1).max(dim=-2).values

            def forward(self, x):
                m = self.sample(len(x))
                h = x * m
                for fc in self.fc[:-1]:
                    h = torch.relu(fc(h))
                return self.fc[-1](h), m

            def gate_probs(self):
                return torch.sigmoid(self.raw / self.gamma).detach().cpu().numpy().astype(np.float64)

            def selector_logits(self):
                return (self.raw / self.gamma).detach().cpu().numpy().astype(np.float64)

        return Persist()

    def _train(self, net, data, genes, lam, stage, gen):
        import torch
        from tqdm.auto import tqdm

        x, c, xv, cv = data
        cols = torch.as_tensor(np.asarray(genes)).to(x.device)
        x, xv = x[:, cols], xv[:, cols]
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        bs = self.batch_size_
        n_batches = len(x) // bs
        net.temperature = self.start_temperature
        r = (self.end_temperature / self.start_temperature) ** (1 / (n_batches * self.max_epochs))
        gates = lam > 0
        for epoch in tqdm(range(self.max_epochs), desc=f"PERSIST {stage}", disable=not show_progress(self.progress),
                          leave=False):
            net.train()
            order = torch.randperm(len(x), generator=gen).to(x.device)
            total = 0.0
            for b in range(n_batches):  # drop_last=True
                idx = order[b * bs:(b + 1) * bs]
                pred, m = net(x[idx])
                loss = loss_fn(pred, c[idx])
                if gates:
                    loss = loss + lam * m.sum(dim=1).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                net.temperature *= r
                total += float(loss.detach())
            net.eval()
            with torch.no_grad():
                pred, m = net(xv)
                val = float(loss_fn(pred, cv) + (lam * m.sum(dim=1).mean() if gates else 0.0))
                self.history_.append({"stage": stage, "epoch": epoch, "train_loss": total / n_batches,
                                      "val_loss": val})
                fixed = False
                if not gates:  # re-initialise colliding selectors (PERSIST's input_layer_fix)
                    arg = net.raw.argmax(dim=1).cpu().numpy()
                    for i in range(len(arg) - 1):
                        if arg[i] in arg[i + 1:]:
                            fixed = True
                            net.raw.data[i] = torch.randn(net.raw.shape[1], generator=gen).to(net.raw.device)
                if not fixed:
                    mean = net.sample(256).mean(dim=0)
                    if gates and float(torch.minimum(mean, 1 - mean).max()) < 1e-2:
                        break
                    if not gates and float(torch.sort(mean).values[-net.raw.shape[0]]) > 1 - 1e-2:
                        break
