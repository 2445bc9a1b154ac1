"""Bytes → text and cell → number, shared by every text-based release format."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import ReleaseRejected

# Cells GACC uses for "nothing to report"; they load as NULL, never as 0.
NIL_CELLS = frozenset({"", "-", "--", "---", "—", "——", "…", "...", "nan", "NaN"})
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")

# Words of the customs tables' headers as Simplified, Traditional and Japanese text print them. Only
# used to name the encoding of a file that is neither UTF-8 nor GB18030, so the reason can say
# "save it as UTF-8" instead of "unknown layout" over mojibake.
_HEADER_WORDS = (
    "所在地", "进出口", "進出口", "出口", "进口", "進口", "輸出", "輸入", "总值", "總值", "合计", "合計",
    "商品", "人民币", "人民幣", "单位", "單位", "単位", "贸易", "貿易",
)
# Encodings a table re-saved outside mainland China comes in: (name in the reason, Python codec).
_FOREIGN_ENCODINGS = (("Big5", "big5"), ("Shift_JIS", "cp932"), ("EUC-KR", "euc_kr"))
_SAVE_AS = "save it as UTF-8 (or GB18030) text and put it in the inbox again"


def utf16_reason(head: bytes) -> str | None:
    """Why the bytes are UTF-16 text (Excel's 'Unicode text' saves this), or None: a byte-order mark,
    or ASCII characters (digits, commas) showing as a NUL beside every other byte."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"UTF-16 text (byte-order mark {head[:2].hex(' ').upper()}), not UTF-8 or GB18030: {_SAVE_AS}"
    sample = head[:4096]
    pairs = len(sample) // 2
    if pairs >= 8:
        odd_nuls = sample[1::2].count(0)
        even_nuls = sample[0::2].count(0)
        if max(odd_nuls, even_nuls) > pairs * 0.3 and min(odd_nuls, even_nuls) < pairs * 0.05:
            order = "little-endian" if odd_nuls > even_nuls else "big-endian"
            return f"UTF-16 text ({order}, no byte-order mark), not UTF-8 or GB18030: {_SAVE_AS}"
    return None


def foreign_encoding_reason(head: bytes) -> tuple[str, int] | None:
    """(reason, line) when the bytes read as a customs table's header in Big5, Shift_JIS or EUC-KR —
    the encodings a table re-saved in Hong Kong, Taiwan, Japan or Korea comes in — and None
    otherwise. Asked only once UTF-8 and GB18030 found no layout: Big5 bytes also decode as
    GB18030, into mojibake."""
    utf16 = utf16_reason(head)
    if utf16:
        return utf16, 1
    cut = head.rfind(b"\n")
    sample = head[: cut + 1] if cut > 0 else head
    best: tuple[int, str, str] | None = None
    for name, codec in _FOREIGN_ENCODINGS:
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        hits = sum(word in text for word in _HEADER_WORDS)
        if hits >= 2 and (best is None or hits > best[0]):
            best = (hits, name, text)
    if best is None:
        return None
    _, name, text = best
    line_number, line = next(
        (i, line) for i, line in enumerate(text.splitlines(), start=1) if any(w in line for w in _HEADER_WORDS)
    )
    shown = ",".join(cell for cell in line.split(",") if cell.strip())[:60]
    return f"{name} text (it reads {shown!r} in {name}), not UTF-8 or GB18030: {_SAVE_AS}", line_number


def decode_text(data: bytes, file_name: str) -> str:
    """UTF-8 (with or without BOM) or GB18030, the encodings customs files come in."""
    if not data.strip():
        raise ReleaseRejected(file_name, "the file is empty")
    if b"\x00" in data[:65536]:
        utf16 = utf16_reason(data[:65536])
        raise ReleaseRejected(file_name, utf16 or "the file is binary (NUL bytes), not a text table")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            foreign = foreign_encoding_reason(data[:65536])
            if foreign:
                raise ReleaseRejected(file_name, foreign[0], row=foreign[1]) from None
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
