"""Where a torch estimator trains: ``device="auto"`` is CUDA when a GPU is visible, else the CPU.

Every torch estimator takes ``device`` and calls :func:`resolve_device` at the start of ``fit``;
it trains there and moves the fitted network back to the CPU, so fitted estimators pickle, load
and predict on machines without a GPU. On the CPU nothing changes: the tensors and generators
are the same objects as without this parameter, so CPU results are unchanged.
"""

from __future__ import annotations

from ..errors import DataValidationError

__all__ = ["resolve_device", "DEVICE_DOC"]

#: The parameter's description, shared by the estimators' docstrings.
DEVICE_DOC = ("device : str\n        ``\"auto\"`` (CUDA when available, else CPU), ``\"cpu\"``, ``\"cuda\"`` or "
              "``\"cuda:N\"``; the fitted network is kept on the CPU.")


def resolve_device(device: str | None = "auto"):
    """The ``torch.device`` a fit runs on.

    Parameters
    ----------
    device : str or None
        ``"auto"`` or None: ``cuda`` if ``torch.cuda.is_available()``, else ``cpu``;
        ``"cpu"``; ``"cuda"`` / ``"cuda:N"``.

    Returns
    -------
    torch.device

    Raises
    ------
    grnbench.errors.DataValidationError
        If ``device`` is not one of these, or names CUDA on a machine without a CUDA GPU.
    """
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DataValidationError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from exc
    if dev.type not in ("cpu", "cuda"):
        raise DataValidationError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DataValidationError(f"device={device!r}, but torch sees no CUDA GPU on this machine (use 'auto' or 'cpu')")
    return dev
