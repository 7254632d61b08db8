"""The seed model: an encoder-decoder attention model of the response to a perturbation.

The "Gene Perturbation Correlate Predictor" (R. Bradfield; the seed write-up), made a
scikit-learn estimator:

* **gene tokens**: a learnable ``nn.Embedding`` per gene multiplied by the gene's initial
  expression (log scale);
* **encoder**: self-attention over the gene tokens (post-norm transformer layers);
* **decoder**: the perturbations are the queries — one token per perturbed gene (a second
  learnable gene embedding x the perturbation size) and one per named perturbagen (a learnable
  token x 1) — with self-attention among them and cross-attention to the encoded state
  (``nn.TransformerDecoder``);
* **read-out** (not specified by the seed): each gene's predicted change from its initial value
  is an MLP of its encoded token, a third (output) gene embedding and the mean decoder output;
  the prediction is initial + change.

Genes not measured in an example (NaN initial value) are masked from attention and from the
loss. Adam, MSE on the final state, early stopping on a validation share of the training
examples (or the task's validation examples).
"""

from __future__ import annotations

import numpy as np

from ...errors import DataValidationError
from ...models.base import EarlyStopping, seed_everything, show_progress, torch_threads
from ...models.device import resolve_device
from .estimators import PerturbationModel

__all__ = ["PerturbTransformer"]


def _build(n_genes: int, n_tokens: int, d: int, heads: int, layers: int, ff: int):
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Attention(nn.Module):
        """Multi-head attention with :func:`torch.nn.functional.scaled_dot_product_attention`
        (its fused CPU kernel is about twice as fast as ``nn.MultiheadAttention`` here)."""

        def __init__(self):
            super().__init__()
            self.q, self.kv, self.out = nn.Linear(d, d), nn.Linear(d, 2 * d), nn.Linear(d, d)

        def forward(self, x, mem, key_mask):
            b, n, _ = x.shape
            m = mem.shape[1]
            q = self.q(x).view(b, n, heads, d // heads).transpose(1, 2)
            k, v = self.kv(mem).view(b, m, 2, heads, d // heads).permute(2, 0, 3, 1, 4)
            mask = None if key_mask is None else key_mask[:, None, None, :]  # True = attend
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return self.out(y.transpose(1, 2).reshape(b, n, d))

    class Block(nn.Module):
        """Post-norm transformer layer: self-attention, optional cross-attention, feed-forward."""

        def __init__(self, cross: bool):
            super().__init__()
            self.self_att, self.n1 = Attention(), nn.LayerNorm(d)
            self.cross_att, self.n2 = (Attention(), nn.LayerNorm(d)) if cross else (None, None)
            self.ff, self.n3 = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Linear(ff, d)), nn.LayerNorm(d)

        def forward(self, x, x_mask, mem=None, mem_mask=None):
            x = self.n1(x + self.self_att(x, x, x_mask))
            if self.cross_att is not None:
                x = self.n2(x + self.cross_att(x, mem, mem_mask))
            return self.n3(x + self.ff(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gene = nn.Embedding(n_genes, d)
            self.pert_gene = nn.Embedding(n_genes, d)
            self.pert_token = nn.Embedding(max(n_tokens, 1), d)
            self.out_gene = nn.Embedding(n_genes, d)
            self.encoder = nn.ModuleList([Block(cross=False) for _ in range(layers)])
            self.decoder = nn.ModuleList([Block(cross=True) for _ in range(layers)])
            self.head = nn.Sequential(nn.Linear(3 * d, ff), nn.GELU(), nn.Linear(ff, 1))

        def forward(self, x0, measured, q_idx, q_size, q_is_token, q_mask):
            # x0 (b, g) with unmeasured genes set to 0; measured (b, g) bool; queries (b, m)
            b, g = x0.shape
            genes = torch.arange(g, device=x0.device)
            enc_mask = None if bool(measured.all()) else measured
            h = self.gene(genes)[None] * x0[:, :, None]
            for blk in self.encoder:
                h = blk(h, enc_mask)
            q_gene = self.pert_gene(q_idx.clamp(max=n_genes - 1))
            q_tok = self.pert_token(q_idx.clamp(max=max(n_tokens, 1) - 1))
            q = torch.where(q_is_token[:, :, None], q_tok, q_gene) * q_size[:, :, None]
            dec_mask = None if bool(q_mask.all()) else q_mask
            for blk in self.decoder:
                q = blk(q, dec_mask, h, enc_mask)
            w = q_mask[:, :, None].float()
            pooled = (q * w).sum(1) / w.sum(1).clamp(min=1.0)
            feats = torch.cat([h, self.out_gene(genes)[None].expand(b, -1, -1), pooled[:, None].expand(-1, g, -1)], -1)
            return x0 + self.head(feats).squeeze(-1)

    return Net()


class PerturbTransformer(PerturbationModel):
    """Encoder-decoder attention model of perturbation responses (see the module notes).

    Parameters
    ----------
    d_model, n_heads, n_layers, dim_feedforward : int
        Transformer sizes (encoder and decoder each ``n_layers``).
    lr, weight_decay : float
        Adam settings.
    batch_size : int
    max_epochs, patience : int
        Early stopping on the validation MSE.
    validation_fraction : float
        Share of the training examples held out for early stopping when no validation is given.
    n_threads : int
        torch threads (1 makes fits bit-for-bit repeatable).
    progress : bool or None
    random_state : int
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``
        (:func:`grnbench.models.device.resolve_device`); the fitted network is kept on the CPU.

    Attributes
    ----------
    history_ : list of dict
        ``epoch, train_loss, val_loss`` per epoch.
    best_epoch_ : int
    n_parameters_ : int
    device_ : str
        Where it trained.
    """

    def __init__(self, d_model=32, n_heads=4, n_layers=1, dim_feedforward=64, lr=1e-3, weight_decay=1e-4,
                 batch_size=32, max_epochs=30, patience=5, validation_fraction=0.15, n_threads=1, progress=None,
                 random_state=0, device="auto"):
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dim_feedforward = dim_feedforward
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_threads = n_threads
        self.progress = progress
        self.random_state = random_state
        self.device = device

    def _queries(self, X):
        """Per example: indices of perturbed genes and tokens, their sizes, kind and mask, padded."""
        rows = []
        for p, t in zip(X.pert, X.token):
            idx = [(int(j), float(p[j]), False) for j in np.flatnonzero(p != 0)]
            if t:
                if t not in self.token_index_:
                    raise DataValidationError(f"perturbagen {t!r} was not seen in training (known: "
                                              f"{', '.join(self.token_index_) or 'none'})")
                idx.append((self.token_index_[t], 1.0, True))
            rows.append(idx or [(0, 0.0, False)])  # an empty perturbation: one zero-size query
        m = max(len(r) for r in rows)
        q_idx = np.zeros((len(rows), m), dtype=np.int64)
        q_size = np.zeros((len(rows), m), dtype=np.float32)
        q_tok = np.zeros((len(rows), m), dtype=bool)
        q_mask = np.zeros((len(rows), m), dtype=bool)
        for i, r in enumerate(rows):
            for j, (a, s, k) in enumerate(r):
                q_idx[i, j], q_size[i, j], q_tok[i, j], q_mask[i, j] = a, s, k, True
        return q_idx, q_size, q_tok, q_mask

    def _tensors(self, X, Y=None):
        import torch

        measured = np.isfinite(X.x0)
        t = [torch.as_tensor(np.nan_to_num(X.x0), dtype=torch.float32), torch.as_tensor(measured)]
        t += [torch.as_tensor(a) for a in self._queries(X)]
        if Y is not None:
            t.append(torch.as_tensor(np.nan_to_num(Y), dtype=torch.float32))
            t.append(torch.as_tensor(measured & np.isfinite(Y)))
        return t

    def fit(self, X, Y, validation=None):
        """Fit on examples ``X`` (:class:`~.datasets.PerturbationInput`) with final states ``Y`` (n, n_genes).

        Raises
        ------
        grnbench.errors.DataValidationError
            For mismatched shapes or fewer than 4 examples.
        """
        import torch
        from tqdm.auto import tqdm

        y = self._check_fit(X, Y)
        if len(X) < 4:
            raise DataValidationError(f"{len(X)} training examples; the transformer needs at least 4")
        self.token_index_ = {t: i for i, t in enumerate(sorted(t for t in set(X.token) if t))}
        dev = resolve_device(self.device)
        with torch_threads(self.n_threads):
            rng = seed_everything(self.random_state)
            if validation is None:
                perm = rng.permutation(len(X))
                n_val = max(1, int(round(self.validation_fraction * len(X))))
                X_val, y_val = X.take(perm[:n_val]), y[perm[:n_val]]
                X, y = X.take(perm[n_val:]), y[perm[n_val:]]
            else:
                X_val, y_val = validation[0], np.asarray(validation[1], dtype=np.float64)
            net = _build(len(self.genes_), len(self.token_index_), self.d_model, self.n_heads, self.n_layers,
                         self.dim_feedforward).to(dev)
            self.n_parameters_ = sum(p.numel() for p in net.parameters())
            opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            train, val = ([t.to(dev) for t in self._tensors(*a)] for a in ((X, y), (X_val, y_val)))
            stopper = EarlyStopping(self.patience)
            self.history_ = []

            def loss_of(batch):
                pred = net(*batch[:6])
                err = (pred - batch[6]) ** 2
                return (err * batch[7]).sum() / batch[7].sum().clamp(min=1)

            for epoch in tqdm(range(self.max_epochs), disable=not show_progress(self.progress), desc="transformer"):
                net.train()
                order = rng.permutation(len(X))
                losses = []
                for s in range(0, len(order), self.batch_size):
                    idx = torch.as_tensor(order[s:s + self.batch_size])
                    loss = loss_of([t[idx] for t in train])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    losses.append(float(loss.detach()))
                net.eval()
                with torch.no_grad():
                    val_loss = float(loss_of(val))
                self.history_.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "val_loss": val_loss})
                if stopper.step(net, val_loss, epoch):
                    break
            stopper.restore(net)
            self.best_epoch_ = stopper.best_epoch
            self.net_, self.device_ = net.to("cpu"), str(dev)
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted final states, shape (n, n_genes); unmeasured initial genes are predicted too."""
        import torch

        X = self._check_predict(X)
        with torch_threads(self.n_threads), torch.no_grad():
            out = []
            for s in range(0, len(X), 256):
                part = X.take(np.arange(s, min(s + 256, len(X))))
                out.append(self.net_(*self._tensors(part)).numpy().astype(np.float64))
        return np.vstack(out)
