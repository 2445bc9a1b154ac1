"""Why a file or a row cannot be trusted, said so that a person can find it."""

from __future__ import annotations


class ReleaseRejected(Exception):
    """The whole file is quarantined. Names the file, and the row and column where known."""

    def __init__(self, file_name: str, reason: str, row: int | None = None, column: str | None = None):
        self.file_name = file_name
        self.reason = reason
        self.row = row
        self.column = column
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = [f"file {self.file_name!r}"]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.reason}"
