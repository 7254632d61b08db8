"""Exceptions raised by grnbench.

Every error that bad input can trigger is a :class:`GrnbenchError` whose message names
the file, column, gene or identifier at fault, so a notebook that stops shows the user
what to fix. Subclasses also inherit from the matching built-in exception
(``ValueError``, ``KeyError``, ``FileNotFoundError``) so generic handlers keep working.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "GrnbenchError",
    "DataValidationError",
    "ChecksumError",
    "MissingDataError",
    "GeneMismatchError",
    "UnknownIdError",
    "StageFailedError",
    "format_names",
]


def format_names(names: Iterable[object], limit: int = 10) -> str:
    """Return ``'A', 'B', ... (+N more)`` for error messages.

    Parameters
    ----------
    names : iterable
        Names (genes, columns, cells) to list.
    limit : int
        How many names to show before summarising the rest.

    Returns
    -------
    str
        A comma-separated, quoted list.
    """
    names = [str(n) for n in names]
    shown = ", ".join(repr(n) for n in names[:limit])
    if len(names) > limit:
        shown += f" (+{len(names) - limit} more)"
    return shown


class GrnbenchError(Exception):
    """Base class of every error grnbench raises on bad input or a failed stage."""


class DataValidationError(GrnbenchError, ValueError):
    """A data file or table breaks its documented schema (columns, values, names)."""


class ChecksumError(GrnbenchError, ValueError):
    """A data file's sha256 differs from the recorded one."""


class MissingDataError(GrnbenchError, FileNotFoundError):
    """A data file is neither in the mirror, nor in the cache, nor downloadable."""


class GeneMismatchError(GrnbenchError, ValueError):
    """A fitted model meets data whose genes differ from the genes it was fitted on."""


class UnknownIdError(GrnbenchError, KeyError):
    """A dataset, model, metric, split or profile id is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class StageFailedError(GrnbenchError, RuntimeError):
    """A notebook stage of the study failed; the message names the notebook and cell."""
