"""The inbox scan reads only new or changed files: a download folder that keeps years of releases is
not hashed again on every run (landing.InboxStamp, table landing.inbox_files)."""

from __future__ import annotations

import os
import time

import duckdb
import pytest

from orchestration.config import WarehousePaths
from orchestration.ingest import landing
from orchestration.ingest.steps import register_inbox
from orchestration.samples.location_tables import write_location_tables

AN_HOUR_AGO_NS = time.time_ns() - 3600 * 10**9


@pytest.fixture
def scanned(tmp_path, monkeypatch):
    """Three sample location tables in an inbox, their files last modified an hour ago, scanned once;
    sha256_of is wrapped to count the files read."""
    paths = WarehousePaths(inbox=tmp_path / "inbox", warehouse_dir=tmp_path / "warehouse")
    paths.warehouse_dir.mkdir()
    write_location_tables(paths.inbox, "2024-01", "2024-03")
    for path in landing.inbox_files(paths.inbox):
        os.utime(path, ns=(AN_HOUR_AGO_NS, AN_HOUR_AGO_NS))
    read: list[str] = []
    real_sha256_of = landing.sha256_of

    def counting(path):
        read.append(path.name)
        return real_sha256_of(path)

    monkeypatch.setattr(landing, "sha256_of", counting)
    con = duckdb.connect(str(paths.live_db))
    first = register_inbox(con, paths)
    assert len(first.new_pending) == 3
    yield paths, con, read
    con.close()


def test_a_rescan_reads_no_unchanged_file(scanned):
    paths, con, read = scanned
    read.clear()
    again = register_inbox(con, paths)
    assert read == [] and again.already_known == 3 and not again.new_pending
    stamps = con.execute("SELECT file_name, sha256 FROM landing.inbox_files ORDER BY file_name").fetchall()
    assert [sha for _, sha in stamps] == [
        sha for (sha,) in con.execute("SELECT sha256 FROM raw.releases ORDER BY file_name").fetchall()
    ]


def test_a_changed_file_is_read_again_and_registered_as_a_new_release(scanned):
    paths, con, read = scanned
    path = landing.inbox_files(paths.inbox)[0]
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n", 1) + b"\n")  # new bytes, a new mtime
    read.clear()
    again = register_inbox(con, paths)
    assert path.name in read and len(again.new_pending) == 1
    assert len(read) == 2  # the file, then its landed copy (checked before the rename); no other file


def test_a_file_modified_just_before_its_hashing_is_read_again(scanned):
    """Within RACY_NS of the hashing, the same size and mtime do not prove the same bytes."""
    paths, con, read = scanned
    path = landing.inbox_files(paths.inbox)[0]
    now = time.time_ns()
    os.utime(path, ns=(now, now))
    register_inbox(con, paths)  # hashed now: its mtime is too recent for the stamp to be trusted
    read.clear()
    register_inbox(con, paths)
    assert read == [path.name]


def test_a_file_gone_from_the_inbox_is_forgotten_and_its_release_kept(scanned):
    paths, con, _ = scanned
    gone = landing.inbox_files(paths.inbox)[0]
    gone.unlink()
    register_inbox(con, paths)
    names = {n for (n,) in con.execute("SELECT file_name FROM landing.inbox_files").fetchall()}
    assert gone.name not in names and len(names) == 2
    assert con.execute("SELECT count(*) FROM raw.releases").fetchone()[0] == 3


def test_a_stamp_is_not_trusted_when_the_archive_is_missing(scanned):
    paths, con, read = scanned
    path = landing.inbox_files(paths.inbox)[0]
    (sha,) = con.execute("SELECT sha256 FROM landing.inbox_files WHERE file_name = ?", [path.name]).fetchone()
    archived = next(paths.landing.glob(f"{sha}.*"))
    archived.chmod(0o600)
    archived.unlink()
    read.clear()
    register_inbox(con, paths)
    assert path.name in read and archived.is_file()


def test_an_unchanged_file_is_read_once_to_be_archived(scanned):
    """The fixture's files are an hour old: each was hashed once and its copy trusted, by the stamp."""
    paths, con, read = scanned
    assert sorted(read) == sorted(p.name for p in landing.inbox_files(paths.inbox))


def test_a_file_rewritten_while_it_is_copied_is_not_archived(tmp_path, monkeypatch):
    """Between its hashing and its copy the file gets new bytes (and so a new mtime): the copy is read
    again, does not match the hash, and nothing lands; the next scan archives the new bytes."""
    inbox, landing_dir = tmp_path / "inbox", tmp_path / "landing"
    inbox.mkdir()
    path = inbox / "late-edit.csv"
    path.write_bytes(b"a,b\n1,2\n")
    os.utime(path, ns=(AN_HOUR_AGO_NS, AN_HOUR_AGO_NS))
    real_copyfile = landing.shutil.copyfile

    def edit_then_copy(source, target):
        with open(source, "ab") as f:
            f.write(b"3,4\n")
        return real_copyfile(source, target)

    monkeypatch.setattr(landing.shutil, "copyfile", edit_then_copy)
    with pytest.raises(OSError, match="changed while it was being archived"):
        landing.land_file(path, inbox, landing_dir)
    assert not list(landing_dir.iterdir())
    monkeypatch.setattr(landing.shutil, "copyfile", real_copyfile)
    landed, _ = landing.land_file(path, inbox, landing_dir)
    assert landed.landing_path.read_bytes() == b"a,b\n1,2\n3,4\n"
