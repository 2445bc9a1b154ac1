"""Bytes → text and cell → number, shared by every text-based release format."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import ReleaseRejected

# Cells GACC uses for "nothing to report"; they load as NULL, never as 0.
NIL_CELLS = frozenset({"", "-", "--", "---", "—", "——", "…", "...", "nan", "NaN"})
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")


def decode_text(data: bytes, file_name: str) -> str:
    """UTF-8 (with or without BOM) or GB18030, the encodings customs files come in."""
    if not data.strip():
        raise ReleaseRejected(file_name, "the file is empty")
    if b"\x00" in data[:65536]:
        raise ReleaseRejected(file_name, "the file is binary (NUL bytes), not a text table")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise ReleaseRejected(
                file_name,
                f"not UTF-8 or GB18030 text (first bad byte at offset {utf8_error.start})",
            ) from None


def parse_number(cell: str) -> Decimal | None:
    """'3,726,407' → 3726407; '-' → None. Raises ValueError for anything else that is not a number."""
    text = cell.strip().replace("\u00a0", "").replace(" ", "")
    if text in NIL_CELLS:
        return None
    text = _THOUSANDS.sub("", text)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {cell.strip()!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {cell.strip()!r}")
    return value
