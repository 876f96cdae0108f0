"""Evidence for the grant: attendance sheets to sign, one PDF per programme (`cxc sheets`)."""

from cxc.evidence.sheets import (
    SHEET_NAME,
    Sheets,
    SheetsSummary,
    render_pdf,
    sheets_of,
    write_sheets,
)

__all__ = ["SHEET_NAME", "Sheets", "SheetsSummary", "render_pdf", "sheets_of", "write_sheets"]
