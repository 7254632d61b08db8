"""GENELink: graph-attention TF -> target link prediction (the published comparator of the task).

GENELink (Chen & Liu 2022, "Graph attention network for link prediction of gene regulations from
single-cell RNA-sequencing data", Bioinformatics 38(19):4522-4529, doi:10.1093/bioinformatics/btac559),
implemented here in torch from the paper and its authors' code (github.com/zpliulab/GENELink,
``Code/scGNN.py``, ``Code/main.py``, ``Code/utils.py``) with its default settings:

* node features: each gene's expression profile over the cells, standardised per gene (z-score
  over cells; ``utils.load_data``);
* graph: the *positive training pairs* as an undirected adjacency (TF - target both ways), no
  self-loops (``Adj_Generate(loop=False)``);
* encoder: two graph-attention layers. Each head computes ``h = x W``, scores
  ``e_ij = LeakyReLU_0.2(a_1 . h_i + a_2 . h_j)`` for neighbours ``j`` of ``i``, soft-maxes them
  over ``j``, drops attention weights with p = 0.5 while training, aggregates ``sum_j att_ij h_j``
  (computed on the graph's edges: the same attention as the authors' dense masked softmax, see
  :func:`build_genelink`),
  applies LeakyReLU(0.2), L2-normalises each row and adds a bias. Layer 1: 3 heads of 128,
  concatenated, then ELU; layer 2: 3 heads of 64, averaged;
* towers: a TF and a target MLP on the shared node embedding (64 -> 32 -> 16, LeakyReLU, dropout
  0.01 after the first layer); score = dot product of the TF's and the target's 16-vectors;
  probability = sigmoid;
* training: binary cross-entropy, Adam lr 3e-3 with the learning rate multiplied by 0.99 after
  every mini-batch (``StepLR(step_size=1, gamma=0.99)`` stepped per batch, as in ``main.py``),
  batches of 256 pairs, 20 epochs; the model after the last epoch is kept (no early stopping;
  the authors' script only prints validation scores).

Deviations, all stated:

* the decision threshold (for accuracy/F1) is the F1-best one on the validation pairs, as for every
  model of this task; ranking metrics do not depend on it;
* the towers' dropout runs only while training (the authors' ``F.dropout(p=0.01)`` is also active at
  prediction time, which makes their scores random at the 1% level);
* none in the handling of a gene with no training edge: its masked attention row is all -9e15, and
  the softmax spreads its attention uniformly over *every* gene, as in the authors' code;
* the attention dropout draws one random number per edge (and per gene for genes without
  neighbours) instead of one per gene pair: different draws, the same distribution;
* Xavier-uniform initialisation (gain 1.414) of every weight as in ``reset_parameters``; torch's
  defaults for the tower biases, as there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ...errors import DataValidationError
from ...models.base import seed_everything, show_progress, torch_threads
from ...models.device import resolve_device
from .estimators import _PairModel, _proba, check_pairs

__all__ = ["GENELinkClassifier", "GENELINK_REF", "build_genelink", "graph_index"]

GENELINK_REF = ("GENELink (Chen & Liu 2022, Bioinformatics 38:4522, doi:10.1093/bioinformatics/btac559), "
                "implemented from the paper and github.com/zpliulab/GENELink")


def graph_index(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges and isolated genes of a boolean adjacency (the attention's sparse structure).

    Parameters
    ----------
    mask : ndarray of bool, shape (n_genes, n_genes)
        ``mask[i, j]``: gene ``i`` attends to gene ``j``.

    Returns
    -------
    rows, cols : ndarray of int, shape (n_edges,)
        The True entries, row-major.
    isolated : ndarray of int
        Genes whose row has no True entry (they attend uniformly to every gene).
    """
    rows, cols = np.nonzero(mask)
    return rows, cols, np.flatnonzero(~mask.any(axis=1))


def build_genelink(n_features: int, hidden=(128, 64, 32), out_dim: int = 16, heads=(3, 3), alpha: float = 0.2):
    """The GENELink network (a :class:`torch.nn.Module`).

    ``forward(x, graph, tf_idx, target_idx)``: ``x`` (n_genes, n_features) node features,
    ``graph`` the training graph as :func:`graph_index` returns it (as tensors), and the pair
    indices (n_pairs,) -> logits (n_pairs,).

    The attention is computed on the graph's edges only. The authors' dense form sets
    non-neighbours' scores to -9e15 before a softmax over all genes, which gives them weight
    exactly 0 (float32), so the sparse form computes the same attention in O(edges) instead of
    O(genes^2); a gene without neighbours gets the dense form's uniform weights 1 / n_genes. Only
    the dropout's random draws differ from a dense implementation (same distribution).
    """
    import torch
    from torch import nn
    from torch.nn import functional as F

    def xavier(*shape):
        w = nn.Parameter(torch.empty(*shape))
        nn.init.xavier_uniform_(w, gain=1.414)
        return w

    class Head(nn.Module):
        def __init__(self, d_in, d_out):
            super().__init__()
            self.weight, self.a, self.bias = xavier(d_in, d_out), xavier(2 * d_out, 1), nn.Parameter(torch.zeros(d_out))

        def forward(self, x, graph):
            rows, cols, isolated = graph
            h = x @ self.weight
            n, d = h.shape
            e = F.leaky_relu((h @ self.a[:d])[rows, 0] + (h @ self.a[d:])[cols, 0], negative_slope=alpha)
            top = torch.full((n,), -torch.inf, dtype=e.dtype, device=e.device)
            top = top.scatter_reduce(0, rows, e.detach(), reduce="amax", include_self=True)
            w = torch.exp(e - top[rows])
            att = w / torch.zeros(n, dtype=w.dtype, device=w.device).index_add(0, rows, w)[rows]
            att = F.dropout(att, p=0.5, training=self.training)
            out = torch.zeros_like(h).index_add(0, rows, att[:, None] * h[cols])
            if len(isolated):  # all -9e15 in the dense form: uniform over every gene
                uniform = F.dropout(torch.full((len(isolated), n), 1.0 / n, dtype=h.dtype, device=h.device), p=0.5,
                                    training=self.training)
                out = out.index_copy(0, isolated, uniform @ h)
            out = F.normalize(F.leaky_relu(out, negative_slope=alpha), p=2, dim=1)
            return out + self.bias

    class GENELink(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer1 = nn.ModuleList(Head(n_features, hidden[0]) for _ in range(heads[0]))
            self.layer2 = nn.ModuleList(Head(heads[0] * hidden[0], hidden[1]) for _ in range(heads[1]))
            self.tf1, self.tf2 = nn.Linear(hidden[1], hidden[2]), nn.Linear(hidden[2], out_dim)
            self.tg1, self.tg2 = nn.Linear(hidden[1], hidden[2]), nn.Linear(hidden[2], out_dim)
            for lin in (self.tf1, self.tf2, self.tg1, self.tg2):
                nn.init.xavier_uniform_(lin.weight, gain=1.414)

        def encode(self, x, graph):
            x = F.elu(torch.cat([h(x, graph) for h in self.layer1], dim=1))
            return torch.stack([h(x, graph) for h in self.layer2]).mean(dim=0)

        def tower(self, z, first, second):
            z = F.dropout(F.leaky_relu(first(z)), p=0.01, training=self.training)
            return F.leaky_relu(second(z))

        def forward(self, x, graph, tf_idx, target_idx):
            z = self.encode(x, graph)
            u, v = self.tower(z, self.tf1, self.tf2), self.tower(z, self.tg1, self.tg2)
            return (u[tf_idx] * v[target_idx]).sum(dim=1)

    return GENELink()


class GENELinkClassifier(_PairModel):
    """GENELink as a scikit-learn pair classifier (see the module notes for the model).

    Parameters
    ----------
    expression : pandas.DataFrame, shape (n_cells, n_genes)
        Expression on the dataset's (log) scale; each gene's profile over the cells is its node
        feature vector.
    hidden : tuple of int
        Attention-layer widths and the towers' hidden width ((128, 64, 32)).
    out_dim : int
        Tower output size (16).
    heads : tuple of int
        Attention heads of the two layers ((3, 3)).
    lr, gamma : float
        Adam learning rate (3e-3) and its decay per mini-batch (0.99).
    batch_size, epochs : int
        256 pairs, 20 epochs.
    n_threads : int
        torch threads during fit and predict (1 makes CPU results repeatable).
    progress : bool or None
        tqdm bar over epochs (None: unless ``$GRNBENCH_PROGRESS=0``).
    random_state : int
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; the
        fitted network is kept on the CPU.

    Attributes
    ----------
    history_ : list of dict
        Mean training loss per epoch (``epoch``, ``train_loss``).
    n_train_edges_ : int
        Positive training pairs in the graph.
    device_ : str
    """

    def __init__(self, expression=None, hidden=(128, 64, 32), out_dim=16, heads=(3, 3), lr=3e-3, gamma=0.99,
                 batch_size=256, epochs=20, n_threads=1, progress=None, random_state=0, device="auto"):
        self.expression = expression
        self.hidden = hidden
        self.out_dim = out_dim
        self.heads = heads
        self.lr = lr
        self.gamma = gamma
        self.batch_size = batch_size
        self.epochs = epochs
        self.n_threads = n_threads
        self.progress = progress
        self.random_state = random_state
        self.device = device

    def _features(self) -> tuple[pd.Index, np.ndarray]:
        if not isinstance(self.expression, pd.DataFrame):
            raise DataValidationError("GENELinkClassifier needs the expression matrix (expression=DataFrame, "
                                      "cells x genes)")
        x = self.expression.to_numpy(dtype=np.float64)
        if not np.isfinite(x).all():
            raise DataValidationError("GENELink: the expression matrix contains NaN or infinite values")
        sd = x.std(axis=0)
        z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)  # sklearn's StandardScaler: constant genes -> 0
        return pd.Index(self.expression.columns.astype(str)), z.T.astype(np.float32)

    def fit(self, X, y, validation=None):
        """Build the graph of positive training pairs and train for ``epochs`` epochs.

        Parameters
        ----------
        X : pandas.DataFrame
            Training pairs (columns ``tf``, ``target``).
        y : array-like of {0, 1}, shape (n_pairs,)
        validation : tuple (DataFrame, array), optional
            Validation pairs and labels: only the decision threshold is chosen on them.

        Raises
        ------
        grnbench.errors.DataValidationError
            No expression matrix, NaN in it, pair genes absent from it, labels not 0/1, an empty class.
        """
        import torch
        from torch.nn import functional as F
        from tqdm.auto import tqdm

        self.genes_, feats = self._features()
        X, y = check_pairs(X, y, genes=self.genes_, name="training pairs")
        a, b = self.genes_.get_indexer(X["tf"].astype(str)), self.genes_.get_indexer(X["target"].astype(str))
        n = len(self.genes_)
        mask = np.zeros((n, n), dtype=bool)
        mask[a[y == 1], b[y == 1]] = mask[b[y == 1], a[y == 1]] = True
        # a gene without neighbours keeps an all-False row: its -9e15 scores soft-max to uniform, as the authors'
        self.n_train_edges_ = int((y == 1).sum())
        self.classes_ = np.array([0, 1])
        dev = resolve_device(self.device)
        with torch_threads(self.n_threads):
            seed_everything(self.random_state)
            net = build_genelink(feats.shape[1], tuple(self.hidden), self.out_dim, tuple(self.heads)).to(dev)
            xt = torch.as_tensor(feats).to(dev)
            mt = tuple(torch.as_tensor(v, dtype=torch.long).to(dev) for v in graph_index(mask))
            at, bt = torch.as_tensor(a).to(dev), torch.as_tensor(b).to(dev)
            yt = torch.as_tensor(y, dtype=torch.float32).to(dev)
            opt = torch.optim.Adam(net.parameters(), lr=self.lr)
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=self.gamma)
            gen = torch.Generator().manual_seed(int(self.random_state or 0))
            self.history_ = []
            for epoch in tqdm(range(self.epochs), desc="GENELink", disable=not show_progress(self.progress),
                              leave=False):
                net.train()
                order, total = torch.randperm(len(yt), generator=gen).to(dev), 0.0
                for s in range(0, len(yt), self.batch_size):
                    idx = order[s:s + self.batch_size]
                    opt.zero_grad()
                    loss = F.binary_cross_entropy_with_logits(net(xt, mt, at[idx], bt[idx]), yt[idx])
                    loss.backward()
                    opt.step()
                    sched.step()
                    total += float(loss.detach()) * len(idx)
                self.history_.append({"epoch": epoch, "train_loss": total / len(yt)})
            net.eval()
            with torch.no_grad():
                z = net.encode(xt, mt)
                self.tf_embedding_ = net.tower(z, net.tf1, net.tf2).cpu().numpy().astype(np.float64)
                self.target_embedding_ = net.tower(z, net.tg1, net.tg2).cpu().numpy().astype(np.float64)
        self.device_ = str(dev)
        self._set_threshold(validation)
        return self

    def predict_proba(self, X):
        """Shape (n_pairs, 2); column 1 = sigmoid(u_tf . v_target) from the trained embeddings.

        Raises
        ------
        grnbench.errors.DataValidationError
            Pairs naming genes that are not in the expression matrix.
        """
        check_is_fitted(self, "tf_embedding_")
        X, _ = check_pairs(X, genes=self.genes_)
        a, b = self.genes_.get_indexer(X["tf"].astype(str)), self.genes_.get_indexer(X["target"].astype(str))
        logit = (self.tf_embedding_[a] * self.target_embedding_[b]).sum(axis=1)
        return _proba(1.0 / (1.0 + np.exp(-logit)))
