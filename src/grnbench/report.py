"""Helpers shared by the report notebooks of every task."""

from __future__ import annotations

__all__ = ["RichText", "fmt_interval"]


class RichText:
    """Markdown text that also renders as HTML.

    Glue it with :func:`myst_nb.glue` to paste generated prose into another book page: the
    cross-page paste picks the HTML representation (rendered with markdown-it, as MyST does).
    """

    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        from markdown_it import MarkdownIt

        html = MarkdownIt("commonmark").enable("table").render(self.text)
        return html.replace("<table>", '<table class="table">')

    def __repr__(self) -> str:
        return self.text


def fmt_interval(value: float, low: float, high: float, digits: int = 3, signed: bool = False) -> str:
    """``value [low, high]`` with ``digits`` decimals (``signed``: always print the sign)."""
    f = f"{{:{'+' if signed else ''}.{digits}f}}"
    return f"{f.format(value)} [{f.format(low)}, {f.format(high)}]"
