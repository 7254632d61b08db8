"""Data layer: sources (mirror -> cache -> download, sha256-verified), loaders, priors, validation."""

from .datasets import load_dataset  # registers the datasets of the built-in cards
from . import beeline  # noqa: F401,I001  (registers the BEELINE edge datasets)
from .priors import load_prior, prior_ids, prior_summary
from .sources import LocalFile, PackageFile, RemoteFile, WheelMember
from .validation import validate_expression, validate_prior

__all__ = [
    "load_dataset",
    "load_prior",
    "prior_ids",
    "prior_summary",
    "LocalFile",
    "PackageFile",
    "RemoteFile",
    "WheelMember",
    "validate_expression",
    "validate_prior",
]
