"""CSV cells that a spreadsheet shows as text and never runs as a formula (OWASP: CSV injection)."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may take a cell starting with for a formula."""


def safe_cell(text: str) -> str:
    """``text``, with a leading ``'`` when it would start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_text(cell: str) -> str:
    """The text of a cell written by :func:`safe_cell`."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell
