"""Which format a release is, decided from its content, and the parser for it."""

from __future__ import annotations

import csv
import io
from datetime import date

from ..reference import province_codes
from .errors import ReleaseRejected
from .location_table import ParsedLocationTable, looks_like_location_table, parse_location_grid
from .text import decode_text

SUPPORTED = "GACC location table (进出口商品收发货人所在地总值表) as CSV"


def parse_release(data: bytes, file_name: str, today: date | None = None) -> ParsedLocationTable:
    """Parse a release file's bytes. Raises ReleaseRejected with a reason a person can act on."""
    text = decode_text(data, file_name)
    if looks_like_location_table(text):
        grid = [list(row) for row in csv.reader(io.StringIO(text, newline=""))]
        return parse_location_grid(grid, file_name, province_codes(), today)
    first_line = text.strip().splitlines()[0][:80] if text.strip() else ""
    raise ReleaseRejected(
        file_name,
        f"unknown layout (first line {first_line!r}); this warehouse reads: {SUPPORTED}",
        row=1,
    )
