"""Inbox → landing: every file as received is archived once, by content, read-only.

`landing/<sha256>.<ext>` is the immutable archive: whatever happens later (a parse
error, a bad row, a newer vintage), the original bytes stay here. The same bytes
under two names are one release.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

# Files a user's download folder also holds that are not releases.
IGNORED_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


@dataclass(frozen=True)
class LandedFile:
    sha256: str
    file_name: str  # the name as received, relative to the inbox
    landing_path: Path
    size_bytes: int

    @property
    def release_id(self) -> str:
        # Short enough to read in a table, long enough (64 bits) never to collide in one warehouse.
        return self.sha256[:16]


@dataclass(frozen=True)
class InboxStamp:
    """What an inbox file looked like when its bytes were hashed: a rescan trusts the hash while size
    and modification time are unchanged, instead of reading every file of a download folder that keeps
    years of releases again. Like git's index, a stamp whose file was modified less than RACY_NS
    before the hashing is not trusted (a rewrite within the file system's clock tick could keep both)."""

    size_bytes: int
    mtime_ns: int
    sha256: str
    hashed_at_ns: int  # time.time_ns() when the bytes were read

    def still_holds(self, status: os.stat_result) -> bool:
        return (
            status.st_size == self.size_bytes
            and status.st_mtime_ns == self.mtime_ns
            and status.st_mtime_ns < self.hashed_at_ns - RACY_NS
        )


RACY_NS = 2_000_000_000


def inbox_files(inbox: Path) -> list[Path]:
    """Every release file below the inbox, in a stable order."""
    if not inbox.exists():
        return []
    files = {
        p for p in inbox.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.name not in IGNORED_NAMES and not p.name.endswith("~")
    }
    # `<file>.json` beside a file is that file's sidecar (flow, period …), not a release of its own.
    sidecars = {p for p in files if p.suffix == ".json" and p.with_name(p.name[: -len(".json")]) in files}
    return sorted(files - sidecars)


def inbox_name(path: Path, inbox: Path) -> str:
    """The name a release is known by: its path relative to the inbox."""
    try:
        return str(path.relative_to(inbox))
    except ValueError:
        return path.name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def remove_partial_copies(folder: Path) -> int:
    """Copies a killed process left half-written (never renamed into place); the caller holds the
    writer's slot, so no other process is writing one now."""
    removed = 0
    for partial in folder.glob(".*.partial") if folder.exists() else ():
        partial.unlink(missing_ok=True)
        removed += 1
    return removed


def land_file(
    path: Path, inbox: Path, landing_dir: Path, previous: InboxStamp | None = None
) -> tuple[LandedFile, InboxStamp]:
    """Archive one inbox file (idempotent: already-landed bytes are not copied again). `previous` is
    the file's stamp from the last scan: while it holds and the archive exists, the file is not read."""
    status = path.stat()
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    if previous is not None and previous.still_holds(status) and (landing_dir / f"{previous.sha256}{suffix}").exists():
        sha, hashed_at = previous.sha256, previous.hashed_at_ns
    else:
        hashed_at = time.time_ns()  # before reading: a write during the read leaves a newer mtime
        sha = sha256_of(path)
    target = landing_dir / f"{sha}{suffix}"
    if not target.exists():
        landing_dir.mkdir(parents=True, exist_ok=True)
        # Copy under a temporary name then rename, so a crash never leaves a partial archive file.
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        shutil.copyfile(path, partial)
        # The copy holds the hashed bytes when the file is unchanged since its hashing, by the rule a
        # rescan trusts (size and mtime the same, the mtime not racy); only otherwise is the copy read
        # again to prove it (a second pass over a large export cost 40 % of its registration).
        unchanged = InboxStamp(status.st_size, status.st_mtime_ns, sha, hashed_at).still_holds(path.stat())
        if not unchanged and sha256_of(partial) != sha:
            partial.unlink()
            raise OSError(f"{path}: the file changed while it was being archived; it will be retried")
        os.chmod(partial, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(partial, target)
    landed = LandedFile(sha256=sha, file_name=inbox_name(path, inbox), landing_path=target, size_bytes=status.st_size)
    return landed, InboxStamp(status.st_size, status.st_mtime_ns, sha, hashed_at)
