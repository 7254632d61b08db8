"""scGen: perturbation response by latent-space arithmetic in a variational autoencoder (published comparator).

scGen (Lotfollahi, Wolf & Theis 2019, "scGen predicts single-cell perturbation responses", Nat Methods
16:715-721, doi:10.1038/s41592-019-0494-8) trains a VAE on control and perturbed cells, takes the
perturbation as the difference ``delta`` between the mean latent codes of perturbed and control cells,
and predicts a new cell type's response by decoding ``z(control cells) + delta``.

The authors' package (``scgen`` 2.1.0, the newest on PyPI) cannot join the pinned stack: it imports
``scvi._compat``, which scvi-tools removed in 1.x, and the last scvi-tools it runs with (0.20.3) needs
pytorch-lightning 1.9.5 and JAX/flax (checked with ``pip install --dry-run`` against
``requirements.txt``). It is therefore implemented here in torch from the paper and the package's
source (``scgen/_scgen.py``, ``scgen/_scgenvae.py``, ``scgen/_base_components.py`` and the scvi-tools
``Encoder``/``FCLayers`` it builds on), with the package's defaults:

* encoder: two fully connected layers of 800 (each Linear -> BatchNorm1d(momentum 0.01, eps 1e-3) ->
  LeakyReLU -> dropout 0.2), then linear heads for the latent mean and log-variance (variance =
  exp + 1e-4), latent size 100, ``z`` drawn by the reparameterisation trick;
* decoder: 100 -> 800 -> n_genes, each layer Linear -> BatchNorm1d -> LeakyReLU -> dropout 0.2 (the
  output layer too, as scvi's ``FCLayers`` does);
* loss: mean over cells of ``0.5 * sum_genes (x - x_hat)^2 + 0.5 * 5e-5 * KL(q(z|x) || N(0, I))``;
* training as the scGen tutorial runs it: 90% / 10% train / validation cells, Adam (lr 1e-3,
  eps 0.01, weight decay 1e-6, scvi's defaults), mini-batches of 32 cells, at most 100 epochs,
  early stopping when the validation ELBO (reconstruction + unweighted KL) has not improved for
  25 epochs (the weights at the stop are kept, as Lightning's early stopping does);
* prediction (``SCGEN.predict``): ``eq = min(#control, #perturbed)`` cells are drawn without
  replacement from each group, ``delta`` = mean latent mean of the drawn perturbed cells minus that of
  the drawn controls, and each input control is decoded from ``mu(x0) + delta`` in evaluation mode.

Deviations, all stated:

* the task hands a model pairs (control, perturbed) of training cells but not their cell types,
  so scGen's per-cell-type balancing (``balancer``, which resamples every cell type to the size of
  the largest before ``delta`` is taken) is not applied; controls that appear in several training
  pairs are used once;
* one ``delta`` per named perturbation (``token``); the held-out cell type's controls are seen only
  at prediction (the task never trains on them);
* the inputs must be named perturbations without per-gene perturbation sizes: scGen has no way to
  take a knockout vector, so it runs only on the held-out-cell-type set-up (Kang);
* random numbers (validation split, batches, ``z`` samples, dropout, the ``eq`` draws) come from
  ``random_state``.
"""

from __future__ import annotations

import numpy as np

from ...errors import DataValidationError
from ...models.base import seed_everything, show_progress, torch_threads
from ...models.device import resolve_device
from .estimators import PerturbationModel

__all__ = ["ScGen", "SCGEN_REF"]

SCGEN_REF = ("scGen (Lotfollahi et al. 2019, Nat Methods 16:715, doi:10.1038/s41592-019-0494-8), implemented from the "
             "paper and the scgen 2.1.0 source")


def build_scgen_vae(n_genes: int, n_hidden: int = 800, n_latent: int = 100, n_layers: int = 2,
                    dropout: float = 0.2):
    """scGen's VAE (a :class:`torch.nn.Module`); ``forward(x) -> (x_hat, mu, var, z)``, shapes (n, n_genes) etc."""
    import torch
    from torch import nn

    def fc(dims):
        layers = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.BatchNorm1d(b, momentum=0.01, eps=0.001), nn.LeakyReLU(), nn.Dropout(dropout)]
        return nn.Sequential(*layers)

    class ScGenVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = fc([n_genes] + [n_hidden] * n_layers)
            self.mean, self.logvar = nn.Linear(n_hidden, n_latent), nn.Linear(n_hidden, n_latent)
            self.decoder = fc([n_latent] + [n_hidden] * (n_layers - 1) + [n_genes])

        def encode(self, x):
            q = self.encoder(x)
            return self.mean(q), torch.exp(self.logvar(q)) + 1e-4

        def forward(self, x):
            mu, var = self.encode(x)
            z = mu + var.sqrt() * torch.randn_like(mu)
            return self.decoder(z), mu, var, z

    return ScGenVAE()


class ScGen(PerturbationModel):
    """scGen as a perturbation-response estimator (see the module notes).

    Parameters
    ----------
    n_hidden, n_latent, n_layers, dropout : int, int, int, float
        Architecture (800, 100, 2, 0.2).
    kl_weight : float
        Weight of the KL term (5e-5).
    lr, batch_size, max_epochs, patience : float, int, int, int
        Adam learning rate (1e-3), 32 cells, 100 epochs, early-stopping patience 25.
    validation_fraction : float
        Share of cells held out for early stopping (0.1).
    n_threads : int
        torch threads (1 makes CPU results repeatable).
    progress : bool or None
        tqdm bar over epochs (None: unless ``$GRNBENCH_PROGRESS=0``).
    random_state : int
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; the fitted
        network is kept on the CPU.

    Attributes
    ----------
    deltas_ : dict of str -> ndarray, shape (n_latent,)
        Latent perturbation vector per token.
    history_ : list of dict
        ``epoch``, ``train_loss``, ``val_elbo``.
    n_control_cells_, n_perturbed_cells_ : int
        Distinct training controls and perturbed cells the VAE saw.
    device_ : str
    """

    def __init__(self, n_hidden=800, n_latent=100, n_layers=2, dropout=0.2, kl_weight=5e-5, lr=1e-3, batch_size=32,
                 max_epochs=100, patience=25, validation_fraction=0.1, n_threads=1, progress=None, random_state=0,
                 device="auto"):
        self.n_hidden = n_hidden
        self.n_latent = n_latent
        self.n_layers = n_layers
        self.dropout = dropout
        self.kl_weight = kl_weight
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_threads = n_threads
        self.progress = progress
        self.random_state = random_state
        self.device = device

    @staticmethod
    def _named(X, what):
        if (X.pert != 0).any() or (X.token == "").any():
            raise DataValidationError(f"scGen {what}: every example must be a named perturbation (token) without "
                                      "per-gene perturbation sizes; scGen cannot take knockout or pair vectors")
        if not np.isfinite(X.x0).all():
            raise DataValidationError(f"scGen {what}: the initial states contain NaN (unmeasured genes)")

    def fit(self, X, Y, validation=None):
        """Train the VAE on the distinct training controls and perturbed cells; compute ``delta`` per token.

        Parameters
        ----------
        X : PerturbationInput
            Training examples (control cell, named perturbation).
        Y : ndarray, shape (n, n_genes)
            Perturbed cells (same scale, e.g. log1p CP10k).
        validation : ignored
            scGen holds out its own 10% of cells.

        Raises
        ------
        grnbench.errors.DataValidationError
            Inputs that are not named perturbations, NaN initial states, or shape mismatches.
        """
        import torch
        from tqdm.auto import tqdm

        y = self._check_fit(X, Y)
        self._named(X, "training inputs")
        ctrl_rows, ctrl_of = np.unique(X.x0, axis=0, return_inverse=True)
        ctrl_of = ctrl_of.ravel()
        cells = np.vstack([ctrl_rows, y]).astype(np.float32)
        self.n_control_cells_, self.n_perturbed_cells_ = len(ctrl_rows), len(y)
        rng = np.random.default_rng(0 if self.random_state is None else int(self.random_state))
        perm = rng.permutation(len(cells))
        n_val = max(1, int(round(self.validation_fraction * len(cells))))
        val_idx, tr_idx = perm[:n_val], perm[n_val:]
        dev = resolve_device(self.device)
        with torch_threads(self.n_threads):
            seed_everything(self.random_state)
            net = build_scgen_vae(cells.shape[1], self.n_hidden, self.n_latent, self.n_layers, self.dropout).to(dev)
            opt = torch.optim.Adam(net.parameters(), lr=self.lr, eps=0.01, weight_decay=1e-6)
            xt = torch.as_tensor(cells).to(dev)
            gen = torch.Generator().manual_seed(int(self.random_state or 0))
            best, best_epoch, self.history_ = np.inf, -1, []
            for epoch in tqdm(range(self.max_epochs), desc="scGen", disable=not show_progress(self.progress),
                              leave=False):
                net.train()
                order = torch.as_tensor(tr_idx)[torch.randperm(len(tr_idx), generator=gen)].to(dev)
                total = 0.0
                for s in range(0, len(order), self.batch_size):
                    idx = order[s:s + self.batch_size]
                    if len(idx) < 2:  # BatchNorm needs 2 cells (scvi drops such a batch too)
                        continue
                    rl, kld = self._terms(net, xt[idx])
                    loss = (0.5 * rl + 0.5 * self.kl_weight * kld).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(idx)
                net.eval()
                with torch.no_grad():
                    rl, kld = self._terms(net, xt[torch.as_tensor(val_idx).to(dev)])
                    val = float((rl + kld).mean())
                self.history_.append({"epoch": epoch, "train_loss": total / len(tr_idx), "val_elbo": val})
                if val < best:  # patience on the validation ELBO; the last weights are kept (Lightning's EarlyStopping)
                    best, best_epoch = val, epoch
                elif epoch - best_epoch >= self.patience:
                    break
            net.eval()
            with torch.no_grad():
                mu_ctrl = net.encode(torch.as_tensor(ctrl_rows, dtype=torch.float32).to(dev))[0].cpu().numpy()
                mu_stim = net.encode(torch.as_tensor(y, dtype=torch.float32).to(dev))[0].cpu().numpy()
        self.deltas_ = {}
        for t in np.unique(X.token):
            c = np.unique(ctrl_of[X.token == t])
            s = np.flatnonzero(X.token == t)
            eq = min(len(c), len(s))  # SCGEN.predict: as many controls as perturbed cells, drawn without replacement
            c, s = rng.choice(c, size=eq, replace=False), rng.choice(s, size=eq, replace=False)
            self.deltas_[str(t)] = mu_stim[s].mean(axis=0) - mu_ctrl[c].mean(axis=0)
        self.module_, self.device_ = net.to("cpu"), str(dev)
        return self

    @staticmethod
    def _terms(net, x):
        import torch

        x_hat, mu, var, _ = net(x)
        rl = ((x - x_hat) ** 2).sum(dim=1)
        kld = 0.5 * (var + mu ** 2 - 1 - torch.log(var)).sum(dim=1)  # KL(N(mu, var) || N(0, 1))
        return rl, kld

    def predict(self, X) -> np.ndarray:
        """Decode ``mu(x0) + delta[token]`` for every example, shape (n, n_genes).

        Raises
        ------
        grnbench.errors.DataValidationError
            Inputs that are not named perturbations, or a token never seen in training.
        grnbench.errors.GeneMismatchError
            Genes other than the fitted ones.
        """
        import torch

        X = self._check_predict(X)
        self._named(X, "inputs")
        unknown = sorted(set(X.token.astype(str)) - set(self.deltas_))
        if unknown:
            raise DataValidationError(f"scGen: perturbation(s) {unknown} were not in training "
                                      f"(known: {sorted(self.deltas_)})")
        delta = np.vstack([self.deltas_[str(t)] for t in X.token]).astype(np.float32)
        with torch_threads(self.n_threads), torch.no_grad():
            self.module_.eval()
            mu = self.module_.encode(torch.as_tensor(X.x0, dtype=torch.float32))[0]
            out = self.module_.decoder(mu + torch.as_tensor(delta))
        return out.numpy().astype(np.float64)

