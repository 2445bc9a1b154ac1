"""Release sources: put new release files into the inbox, from GACC's website or a drop folder.

The pipeline itself only reads the inbox (see landing.py). A source's one job is to add files
there, in a way the pipeline can never trip over:

- a file appears in the inbox whole or not at all: it is written as `<inbox>/.<name>.partial`
  (a dot-file, which `landing.inbox_files` ignores), fsynced, then renamed into place;
- a page is fetched once: a small JSON state file remembers url → {file_name, sha256, fetched_at},
  and a link whose file is already in the inbox is not fetched again;
- the network is distrusted: only hosts in `allowed_hosts` are contacted (links and redirects to
  any other host are refused before a request is made), only HTML content types are accepted,
  bodies are capped at `max_bytes` and checked against Content-Length, and transient failures
  (connection errors, timeouts, 5xx, 429) are retried with exponential backoff while permanent
  ones (4xx, wrong type, too large) are not;
- one bad link does not stop the others: failures are collected in the FetchReport with a reason
  a person can act on. Only a failure of the release index itself raises (SourceUnavailable),
  because then nothing can be known about what is new; the caller decides what that means.

Links are fetched exactly as the index gives them: absolute links (GACC's index links to
http://english.customs.gov.cn/Statics/<uuid>.html) are kept, relative ones are resolved against
the index URL. There is no host rewriting here; a test or mirror serves an index whose links
point at itself.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import logging
import os
import re
import shutil
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, BinaryIO, NamedTuple, Protocol
from urllib.parse import urljoin, urlsplit

import dagster as dg

from .landing import IGNORED_NAMES, sha256_of

log = logging.getLogger(__name__)

DEFAULT_INDEX_URL = "http://english.customs.gov.cn/statics/report/preliminary.html"
# Table (4), China's trade by country/region: the table this warehouse parses (preliminary.py).
DEFAULT_TITLE_PATTERN = r"^\(4\).*Country/Region"
FILE_PREFIX = "gacc-preliminary"
_CHUNK = 64 * 1024
# A server's Retry-After is honoured, but never beyond this: a fetch must end in bounded time.
_MAX_RETRY_AFTER_SECONDS = 60.0


class SourceUnavailable(Exception):
    """The source as a whole cannot be read now (the release index failed, or the drop folder is
    missing). Names the URL or folder and what went wrong."""


# --- the release index -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseLink:
    """One downloadable edition listed on the release index."""

    title: str  # the index row's title: "(4) China's Total Export & Import Values by Country/Region (in CNY)"
    url: str  # absolute
    published: date | None  # when the index row carries a date (GACC's 2026 index does not)
    currency: str | None  # "CNY" / "USD" from "(in CNY)" / "(in USD)" ("(in RMB)" on old pages → CNY)
    table_number: int | None  # 4 from "(4) …"
    # The statistical month (first day) from the index's year selector and the link's month label
    # ("Mar."). GACC's "Feb." link is the combined January–February release.
    period: date | None = None


_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}  # fmt: skip
_MONTH_WORD = re.compile(
    r"(?<![A-Za-z])(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?![A-Za-z])", re.IGNORECASE
)
_TITLE_MONTH_YEAR = re.compile(
    r"(?<![A-Za-z])(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s*,?\s*((?:19|20)\d{2})(?!\d)",
    re.IGNORECASE,
)
_TABLE_NUMBER = re.compile(r"^\s*\(\s*(\d{1,2})\s*\)")
_CURRENCY = re.compile(r"\((?:[^()]*,\s*)?in\s+(CNY|RMB|USD)\s*\)", re.IGNORECASE)
_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_SPACES = re.compile(r"\s+")


@dataclass
class _Row:
    title: list[str] = field(default_factory=list)  # text of the first cell
    text: list[str] = field(default_factory=list)  # text of the whole row (a date may be anywhere)
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, link text)


@dataclass
class _Link:
    href: str
    text: list[str] = field(default_factory=list)


class _IndexParser(HTMLParser):
    """Rows of the table(s) inside `div.nr-n-content-detail`: the first cell's text is the title,
    every <a href> in the row is an edition (its text, "Feb.", the month). The year comes from
    `<select id="preliminarysel">` (the selected option, else the first: the year shown)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[str, str, list[tuple[str, str]]]] = []  # (title, row text, [(href, label)])
        self.saw_detail_table = False
        self.years: list[tuple[str, bool]] = []  # (option value, selected)
        self._divs: list[bool] = []  # open <div>s: is it the content-detail div?
        self._in_year_select = False
        self._row: _Row | None = None
        self._cell_index = -1
        self._link: _Link | None = None

    @property
    def _in_detail(self) -> bool:
        return any(self._divs)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: (v or "") for k, v in attrs}
        if tag == "div":
            self._divs.append("nr-n-content-detail" in attributes.get("class", "").split())
        elif tag == "select":
            self._in_year_select = attributes.get("id") == "preliminarysel"
        elif tag == "option" and self._in_year_select:
            self.years.append((attributes.get("value", "").strip(), "selected" in attributes))
        elif not self._in_detail:
            return
        elif tag == "table":
            self.saw_detail_table = True
        elif tag == "tr":
            self._end_row()
            self._row = _Row()
            self._cell_index = -1
        elif tag in ("td", "th") and self._row is not None:
            self._cell_index += 1
        elif tag == "a" and self._row is not None and attributes.get("href", "").strip():
            self._end_link()
            self._link = _Link(attributes["href"].strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._divs:
            self._divs.pop()
        elif tag == "select":
            self._in_year_select = False
        elif tag == "a":
            self._end_link()
        elif tag == "tr":
            self._end_row()
        elif tag == "table" and self._in_detail:
            self._end_row()

    def handle_data(self, data: str) -> None:
        if self._row is None:
            return
        self._row.text.append(data)
        if self._cell_index == 0:
            self._row.title.append(data)
        if self._link is not None:
            self._link.text.append(data)

    def _end_link(self) -> None:
        if self._link is not None and self._row is not None:
            self._row.links.append((self._link.href, _fold("".join(self._link.text))))
        self._link = None

    def _end_row(self) -> None:
        self._end_link()
        if self._row is not None and self._row.links:
            self.rows.append((_fold("".join(self._row.title)), _fold(" ".join(self._row.text)), self._row.links))
        self._row = None

    def close(self) -> None:
        super().close()
        self._end_row()


def _fold(text: str) -> str:
    return _SPACES.sub(" ", text.replace("\u00a0", " ")).strip()


def _index_year(years: list[tuple[str, bool]]) -> int | None:
    chosen = [v for v, selected in years if selected] or [v for v, _ in years]
    for value in chosen[:1]:
        if re.fullmatch(r"(?:19|20)\d{2}", value):
            return int(value)
    return None


def _period(label: str, title: str, year: int | None) -> date | None:
    months = _MONTH_WORD.findall(label)
    if months and year is not None:
        return date(year, _MONTHS[months[-1][:3].lower()], 1)  # "Jan.-Feb." → February
    in_title = _TITLE_MONTH_YEAR.search(title)  # a title naming its own month: "…, Mar 2026 (in CNY)"
    if in_title:
        return date(int(in_title[2]), _MONTHS[in_title[1][:3].lower()], 1)
    return None


def _published(text: str) -> date | None:
    for match in _DATE.finditer(text):
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
    return None


def parse_release_index(html: str, base_url: str) -> list[ReleaseLink]:
    """Every edition linked from GACC's release index, in page order, each URL once.

    Relative links are resolved against `base_url` (the index's own URL); links that are not
    http(s) (javascript:, mailto:) are not editions and are left out. Hosts are NOT checked
    here: fetching refuses a host outside allowed_hosts, and says so in its report.
    Raises ValueError when the page has no `div.nr-n-content-detail` table at all: the page
    layout changed (or this is not the index), which must not pass for "nothing new".
    """
    parser = _IndexParser()
    parser.feed(html)
    parser.close()
    if not parser.saw_detail_table:
        raise ValueError("no table inside div.nr-n-content-detail: not GACC's release index, or its layout changed")
    year = _index_year(parser.years)
    links: list[ReleaseLink] = []
    seen: set[str] = set()
    for title, row_text, row_links in parser.rows:
        number = _TABLE_NUMBER.match(title)
        currency = _CURRENCY.search(title)
        published = _published(row_text)
        for href, label in row_links:
            url = urljoin(base_url, href)
            if urlsplit(url).scheme.lower() not in ("http", "https") or url in seen:
                continue
            seen.add(url)
            links.append(
                ReleaseLink(
                    title=title,
                    url=url,
                    published=published,
                    currency={"RMB": "CNY"}.get(currency[1].upper(), currency[1].upper()) if currency else None,
                    table_number=int(number[1]) if number else None,
                    period=_period(label, title, year),
                )
            )
    return links


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_UUID8 = re.compile(r"^[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def file_name_for(link: ReleaseLink) -> str:
    """A stable, safe inbox name: `gacc-preliminary-2026-03-t4-cny-2e61c8a1.html`.

    Made only from what the index says (so it is known before downloading, and the same on every
    run): the statistical month, the table, the currency and the first 8 hex digits of the page's
    UUID (or of the URL's SHA-256 when the page is not named by a UUID), which keeps two editions
    apart. The statistical month, not the publication date, is in the name: the page index
    carries no publication date, and preliminary.py falls back on a `yyyy-mm` in the file name
    as the period when a page's title names none, so a publication month there would be misread.
    """
    when = f"{link.period:%Y-%m}" if link.period else "undated"
    table = f"t{link.table_number}" if link.table_number is not None else "tx"
    currency = (link.currency or "xxx").lower()
    stem = urlsplit(link.url).path.rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]
    key = stem[:8].lower() if _UUID8.match(stem) else hashlib.sha256(link.url.encode()).hexdigest()[:8]
    name = f"{FILE_PREFIX}-{when}-{table}-{currency}-{key}.html"
    return _UNSAFE.sub("-", name)


# --- what a fetch did ---------------------------------------------------------------------------


class Failure(NamedTuple):
    """A link that could not be fetched: (url, reason). str() gives "url: reason"."""

    url: str
    reason: str

    def __str__(self) -> str:
        return f"{self.url}: {self.reason}"


@dataclass
class FetchReport:
    downloaded: list[Path] = field(default_factory=list)  # files now in the inbox, in fetch order
    skipped: int = 0  # selected but already fetched (state file) or already in the inbox
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        lines = [f"{len(self.downloaded)} new file(s), {self.skipped} already fetched, {len(self.failures)} failure(s)"]
        lines += [f"  new: {p.name}" for p in self.downloaded]
        lines += [f"  failed: {f}" for f in self.failures]
        return "\n".join(lines)


class ReleaseSource(Protocol):
    """What the pipeline needs of any source."""

    def fetch_new(self, inbox: Path, state_file: Path) -> FetchReport: ...


# --- state and atomic files ---------------------------------------------------------------------


def read_state(state_file: Path) -> dict[str, dict[str, str]]:
    """url (or source path) → {file_name, sha256, fetched_at}; {} before the first fetch."""
    if not state_file.exists():
        return {}
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        # Written atomically, so this is a hand edit gone wrong: say so rather than re-fetch everything.
        raise ValueError(f"{state_file}: not a readable JSON state file ({error}); repair or delete it") from None
    if not isinstance(state, dict):
        raise ValueError(f"{state_file}: expected a JSON object of url → entry; repair or delete it")
    return state


def write_state(state_file: Path, state: Mapping[str, Mapping[str, str]]) -> None:
    """Temp file + fsync + os.replace: a crash leaves the old state or the new one, never half."""
    state_file.parent.mkdir(parents=True, exist_ok=True)
    temp = state_file.with_name(f".{state_file.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=2, sort_keys=True, ensure_ascii=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, state_file)
    finally:
        temp.unlink(missing_ok=True)


def _state_entry(file_name: str, sha256: str) -> dict[str, str]:
    return {"file_name": file_name, "sha256": sha256, "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _partial_path(target: Path) -> Path:
    # A dot-file beside the target: invisible to the inbox scanner, and on the same file system,
    # so the final os.replace is atomic. landing.remove_partial_copies() matches ".*.partial".
    return target.with_name(f".{target.name}.partial")


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- HTTP ---------------------------------------------------------------------------------------


class _FetchError(Exception):
    def __init__(self, reason: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class _Fetched(NamedTuple):
    sha256: str
    charset: str | None  # from Content-Type, to decode the index
    final_url: str  # after redirects


class _Refused(Exception):
    """A redirect to a URL this source may not contact."""


def _host_refusal(url: str, allowed_hosts: list[str]) -> str | None:
    """Why `url` may not be fetched, or None. Hosts match by name (any port), or as "host:port"."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return f"scheme {parts.scheme or '(none)'!r} not allowed (http/https only)"
    host = (parts.hostname or "").lower()
    allowed = {h.strip().lower() for h in allowed_hosts}
    if host and (host in allowed or parts.netloc.lower().rsplit("@", 1)[-1] in allowed):
        return None
    return f"host {host or '(none)'!r} not in allowed_hosts"


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to an allowed host: a redirect must not reach what a link may not."""

    def __init__(self, allowed_hosts: list[str]) -> None:
        super().__init__()
        self.allowed_hosts = allowed_hosts

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message, newurl: str
    ) -> urllib.request.Request | None:
        refusal = _host_refusal(newurl, self.allowed_hosts)
        if refusal:
            raise _Refused(f"redirect (HTTP {code}) to {newurl} refused: {refusal}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _retry_after(headers: Message | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return min(max(float(value), 0.0), _MAX_RETRY_AFTER_SECONDS) if value else None
    except ValueError:
        return None  # an HTTP date: the exponential backoff is used instead


def _seconds(value: float) -> str:
    return f"{value:g} s"


class HttpReleaseSource(dg.ConfigurableResource):
    """GACC's English preliminary-release index: downloads the new pages it links into the inbox."""

    index_url: str = DEFAULT_INDEX_URL
    allowed_hosts: list[str] = ["english.customs.gov.cn"]  # the index URL's host must be here too
    title_pattern: str = DEFAULT_TITLE_PATTERN  # regex (re.search) on the index row title
    # "YYYY-MM": leave links for earlier statistical months alone (e.g. not backfill at first run);
    # "" takes every selected link on the index.
    from_period: str = ""
    timeout_seconds: float = 20.0  # per socket operation: connecting, and each read
    total_timeout_seconds: float = 300.0  # a whole response, so a trickling server cannot hold a run
    max_bytes: int = 20_000_000
    retries: int = 3  # attempts in all for one URL (1 = no retry) on connection errors, timeouts, 5xx, 429
    backoff_seconds: float = 1.0  # wait backoff × 2^attempt (1, 2, 4 … s) before the next attempt
    allowed_content_types: list[str] = ["text/html", "application/xhtml+xml"]  # add "" to accept none sent
    user_agent: str = "yrd-trade-warehouse/0.1 (GACC release fetcher; Python urllib)"

    # -- public --

    def fetch_new(self, inbox: Path, state_file: Path) -> FetchReport:
        """Download the selected index links not fetched before. Raises SourceUnavailable when the
        index cannot be read; a failing page is reported and the others are still fetched."""
        pattern = self._title_regex()
        first_period = self._first_period()
        links = self.list_releases()
        # A link whose month the index does not say is kept: from_period must not hide it silently.
        selected = [
            link for link in links
            if pattern.search(link.title) and (first_period is None or link.period is None or link.period >= first_period)
        ]  # fmt: skip
        log.info("%s: %d link(s), %d selected by %r", self.index_url, len(links), len(selected), self.title_pattern)

        inbox.mkdir(parents=True, exist_ok=True)
        state = read_state(state_file)
        report = FetchReport()
        for link in selected:
            name = file_name_for(link)
            target = inbox / name
            if link.url in state:
                report.skipped += 1
                continue
            if target.exists():
                # Put there by an earlier run whose state was lost, or by hand: the same edition.
                state[link.url] = _state_entry(name, sha256_of(target))
                write_state(state_file, state)
                report.skipped += 1
                continue
            refusal = _host_refusal(link.url, self.allowed_hosts)
            if refusal:
                report.failures.append(Failure(link.url, refusal))
                continue
            try:
                sha = self._download_to(link.url, target)
            except _FetchError as error:
                report.failures.append(Failure(link.url, error.reason))
                continue
            state[link.url] = _state_entry(name, sha)
            write_state(state_file, state)  # after each file, so a crash later keeps what is done
            report.downloaded.append(target)
        for failure in report.failures:
            log.warning("not fetched: %s", failure)
        return report

    def list_releases(self) -> list[ReleaseLink]:
        """The index, fetched with every check and parsed. Raises SourceUnavailable."""
        refusal = _host_refusal(self.index_url, self.allowed_hosts)
        if refusal:
            raise SourceUnavailable(f"release index {self.index_url}: {refusal}")
        try:
            body, fetched = self._get_bytes(self.index_url)
        except _FetchError as error:
            raise SourceUnavailable(f"release index {self.index_url}: {error.reason}") from None
        html = _decode(body, fetched.charset)
        try:
            # Relative links are relative to where the index really was (after any redirect).
            return parse_release_index(html, fetched.final_url)
        except ValueError as error:
            raise SourceUnavailable(f"release index {self.index_url}: {error}") from None

    # -- config checks --

    def _title_regex(self) -> re.Pattern[str]:
        try:
            return re.compile(self.title_pattern)
        except re.error as error:
            raise ValueError(f"title_pattern {self.title_pattern!r} is not a valid regular expression: {error}") from None

    def _first_period(self) -> date | None:
        if not self.from_period.strip():
            return None
        match = re.fullmatch(r"\s*((?:19|20)\d{2})-(0[1-9]|1[0-2])\s*", self.from_period)
        if not match:
            raise ValueError(f"from_period {self.from_period!r} is not YYYY-MM")
        return date(int(match[1]), int(match[2]), 1)

    # -- transfers --

    def _download_to(self, url: str, target: Path) -> str:
        """Stream `url` into `target` atomically; returns its SHA-256. Raises _FetchError."""
        partial = _partial_path(target)
        try:
            with open(partial, "wb") as f:
                sha = self._with_retries(url, f).sha256
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, target)
            _fsync_dir(target.parent)
            return sha
        except OSError as error:  # the disk, not the network (network errors are _FetchError)
            raise _FetchError(f"could not write {target.name} into the inbox: {error}", retryable=False) from None
        finally:
            partial.unlink(missing_ok=True)  # nothing half-written is left behind, even hidden

    def _get_bytes(self, url: str) -> tuple[bytes, _Fetched]:
        sink = io.BytesIO()
        fetched = self._with_retries(url, sink)
        return sink.getvalue(), fetched

    def _with_retries(self, url: str, sink: BinaryIO) -> _Fetched:
        attempts = max(1, self.retries)
        for attempt in range(attempts):
            sink.seek(0)
            sink.truncate()  # a retry starts from an empty file, never appends to a broken body
            try:
                return self._attempt(url, sink)
            except _FetchError as error:
                if not error.retryable:
                    raise
                if attempt + 1 >= attempts:
                    if attempts == 1:
                        raise
                    joiner = " after" if error.reason.startswith("HTTP ") else ";"
                    raise _FetchError(f"{error.reason}{joiner} {attempts} attempts", retryable=False) from None
                wait = self.backoff_seconds * 2**attempt
                if error.retry_after is not None:
                    wait = max(wait, error.retry_after)
                log.info("%s: %s; attempt %d of %d in %.1f s", url, error.reason, attempt + 2, attempts, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _timed_out(self) -> _FetchError:
        return _FetchError(f"timed out after {_seconds(self.timeout_seconds)}", retryable=True)

    def _attempt(self, url: str, sink: BinaryIO) -> _Fetched:
        """One GET into `sink`. Raises _FetchError."""
        request = urllib.request.Request(
            url,
            headers={
                "User-Agent": self.user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9",
                "Accept-Encoding": "identity",  # the bytes stored are the page as served
            },
        )
        opener = urllib.request.build_opener(_CheckedRedirects(self.allowed_hosts))
        started = time.monotonic()
        try:
            response = opener.open(request, timeout=self.timeout_seconds)
        except _Refused as error:
            raise _FetchError(str(error), retryable=False) from None
        except urllib.error.HTTPError as error:
            error.close()
            retryable = error.code == 429 or error.code >= 500
            raise _FetchError(f"HTTP {error.code}", retryable, _retry_after(error.headers)) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, (TimeoutError, socket.timeout)):
                raise self._timed_out() from None
            raise _FetchError(f"connection failed: {error.reason}", retryable=True) from None
        except (TimeoutError, socket.timeout):
            raise self._timed_out() from None
        except (http.client.HTTPException, OSError) as error:
            raise _FetchError(f"connection failed: {error!r}", retryable=True) from None

        with response:
            content_type = response.headers.get_content_type() if response.headers.get("Content-Type") else ""
            allowed_types = {t.strip().lower() for t in self.allowed_content_types}
            if content_type not in allowed_types:
                shown = response.headers.get("Content-Type") or "(none)"
                raise _FetchError(f"Content-Type {shown.split(';')[0].strip()!r} not allowed", retryable=False)
            expected = _content_length(response.headers.get("Content-Length"))
            if expected is not None and expected > self.max_bytes:
                raise _FetchError(
                    f"larger than max_bytes: Content-Length {expected} > {self.max_bytes}", retryable=False
                )
            digest = hashlib.sha256()
            received = 0
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except http.client.IncompleteRead as error:
                    received += len(error.partial)
                    of = f" of {expected}" if expected is not None else ""
                    raise _FetchError(f"body truncated: {received}{of} bytes", retryable=True) from None
                except (TimeoutError, socket.timeout):
                    raise self._timed_out() from None
                except (http.client.HTTPException, OSError) as error:
                    raise _FetchError(f"connection lost after {received} bytes: {error!r}", retryable=True) from None
                if not chunk:
                    break
                received += len(chunk)
                if received > self.max_bytes:
                    raise _FetchError(f"larger than max_bytes: more than {self.max_bytes} bytes", retryable=False)
                if time.monotonic() - started > self.total_timeout_seconds:
                    raise _FetchError(
                        f"timed out: the whole response took longer than {_seconds(self.total_timeout_seconds)}",
                        retryable=True,
                    )
                digest.update(chunk)
                sink.write(chunk)
            if expected is not None and received < expected:
                # http.client returns b"" at an early close rather than raising: count it here.
                raise _FetchError(f"body truncated: {received} of {expected} bytes", retryable=True)
            return _Fetched(digest.hexdigest(), response.headers.get_content_charset(), response.geturl() or url)


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None and value.strip().isdigit() else None
    except ValueError:
        return None


def _decode(body: bytes, charset: str | None) -> str:
    for encoding in (charset, "utf-8-sig", "gb18030"):
        if not encoding:
            continue
        try:
            return body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("utf-8", errors="replace")


# --- a local drop folder -------------------------------------------------------------------------


def _is_release_candidate(path: Path) -> bool:
    name = path.name
    return (
        path.is_file()
        and not name.startswith(".")  # dot-files, including another writer's ".<name>.partial"
        and not name.endswith((".partial", "~"))
        and name not in IGNORED_NAMES
    )


class LocalFolderSource(dg.ConfigurableResource):
    """Files a person (or another tool) drops in a folder, copied into the inbox once.

    `folder` "" means the inbox itself is the drop folder: nothing to copy. Only the folder's own
    files are taken (not subfolders). A name already in the inbox is left alone; the state file
    remembers what was copied (by source path and SHA-256) so a file the pipeline has since seen
    is not copied back, while a changed file under the same path is offered again.
    """

    folder: str = ""

    def fetch_new(self, inbox: Path, state_file: Path) -> FetchReport:
        report = FetchReport()
        if not self.folder.strip():
            return report
        folder = Path(self.folder).expanduser().resolve()
        if not folder.is_dir():
            raise SourceUnavailable(f"drop folder {folder} does not exist or is not a folder")
        if folder == inbox.resolve():
            return report
        inbox.mkdir(parents=True, exist_ok=True)
        state = read_state(state_file)
        for source in sorted(p for p in folder.iterdir() if _is_release_candidate(p)):
            target = inbox / source.name
            key = source.as_uri()
            try:
                sha = sha256_of(source)
                if target.exists() or state.get(key, {}).get("sha256") == sha:
                    report.skipped += 1
                    continue
                partial = _partial_path(target)
                try:
                    shutil.copyfile(source, partial)
                    with open(partial, "rb+") as f:
                        os.fsync(f.fileno())
                    if sha256_of(partial) != sha:
                        raise OSError("the file changed while it was being copied; it will be retried")
                    os.replace(partial, target)
                finally:
                    partial.unlink(missing_ok=True)
            except OSError as error:
                report.failures.append(Failure(key, f"could not copy: {error}"))
                continue
            state[key] = _state_entry(source.name, sha)
            write_state(state_file, state)
            report.downloaded.append(target)
        return report
