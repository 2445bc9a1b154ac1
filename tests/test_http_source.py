"""Release sources (orchestration/ingest/sources.py) against a real HTTP server on 127.0.0.1.

No HTTP mocks: a ThreadingHTTPServer in a background thread serves GACC's real release index and
the real table (4) page from ../shared, plus misbehaving routes (404, 500, slow, truncated, wrong
type, too large, redirects). GACC's index links absolutely to http://english.customs.gov.cn/…;
the source fetches links exactly as an index gives them, so the test serves a copy of the index
whose links point at this server (the host replaced in memory; the fixture file is untouched),
as a mirror of the site would.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orchestration.ingest.formats import parse_release
from orchestration.ingest.landing import inbox_files
from orchestration.ingest.release import ParseContext
from orchestration.ingest.sources import (
    FetchReport,
    HttpReleaseSource,
    LocalFolderSource,
    ReleaseLink,
    SourceUnavailable,
    file_name_for,
    parse_release_index,
)

from .conftest import REAL, require_real

PAGES = REAL / "gacc_preliminary_html"
INDEX = PAGES / "preliminary-index-2026.html"
SECTION4 = PAGES / "section4-by-country-2026-03-cny.html"
GACC = "http://english.customs.gov.cn"
INDEX_PATH = "/statics/report/preliminary.html"
# What the real index links for table (4) by country/region, 2026 (CNY and USD editions).
MAR_CNY = "/Statics/2e61c8a1-17b2-4074-b909-c039ccf8c8fb.html"
FEB_CNY = "/Statics/47e53257-a14f-4a19-a17c-b5beea64f822.html"
MAR_USD = "/Statics/66580503-6688-49b2-bd23-de154e5677d5.html"
MAR_CNY_NAME = "gacc-preliminary-2026-03-t4-cny-2e61c8a1.html"
FEB_CNY_NAME = "gacc-preliminary-2026-02-t4-cny-47e53257.html"
CNY_TABLE_4 = r"^\(4\).*Country/Region.*\(in CNY\)"
HTML = "text/html; charset=utf-8"
HUNDRED_MILLION = Decimal(100_000_000)

Handler = Callable[[BaseHTTPRequestHandler, int], None]  # (request, 1-based hit number of this path)


# --- the server ---------------------------------------------------------------------------------


def send(request: BaseHTTPRequestHandler, status: int, body: bytes = b"", content_type: str = HTML,
         content_length: int | None = None, headers: dict[str, str] | None = None) -> None:  # fmt: skip
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body) if content_length is None else content_length))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)


def page(body: bytes, content_type: str = HTML) -> Handler:
    return lambda request, hit: send(request, 200, body, content_type)


def status(code: int) -> Handler:
    return lambda request, hit: send(request, code, f"error {code}".encode())


class Site:
    """Routes (path → handler), and every request that reached the server, by path."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.port = server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def url(self, path: str) -> str:
        return self.base + path

    def serve_index(self, hosts: dict[str, str] | None = None) -> None:
        """The real index, its GACC links pointing here (or, per link path, at another host)."""
        text = require_real(INDEX).read_text(encoding="utf-8")
        for path, host in (hosts or {}).items():
            text = text.replace(GACC + path, host + path)
        self.routes[INDEX_PATH] = page(text.replace(GACC + "/", self.base + "/").encode("utf-8"))

    def source(self, **config: object) -> HttpReleaseSource:
        settings: dict[str, object] = {
            "index_url": self.url(INDEX_PATH),
            "allowed_hosts": ["127.0.0.1"],
            "title_pattern": CNY_TABLE_4,
            "from_period": "2026-03",
            "timeout_seconds": 2.0,
            "retries": 3,
            "backoff_seconds": 0.01,
        }
        settings.update(config)
        return HttpReleaseSource(**settings)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still sleeping must not hold the fixture's teardown
    site: Site

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (timeout, refused body) closes the socket: expected here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        site = self.server.site
        with site.lock:
            site.hits[self.path] += 1
            hit = site.hits[self.path]
        handler = site.routes.get(self.path)
        if handler is None:
            send(self, 404, b"not found")
        else:
            handler(self, hit)

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    # urllib honours http_proxy: a proxy set in the environment must not carry these requests.
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    server = _Server(("127.0.0.1", 0), _Handler)
    server.site = Site(server)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.site
    finally:
        server.site.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def section4() -> bytes:
    return require_real(SECTION4).read_bytes()


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    return tmp_path / "inbox"


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / "gacc_preliminary.json"


def visible_and_hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def only_failure(report: FetchReport) -> tuple[str, str]:
    assert report.downloaded == [] and len(report.failures) == 1, report.summary()
    return report.failures[0]


# --- the pure parts -----------------------------------------------------------------------------


def test_real_index_lists_every_edition_with_absolute_links():
    links = parse_release_index(require_real(INDEX).read_text(encoding="utf-8"), GACC + INDEX_PATH)
    # Tables (1)–(6) × CNY/USD, each with Feb. (the combined Jan–Feb release) and Mar. linked;
    # (7) and (8) have no links yet, and the site's navigation links are not editions.
    assert len(links) == 24
    assert all(link.url.startswith(GACC + "/Statics/") for link in links)
    mar_cny = [link for link in links if link.url == GACC + MAR_CNY]
    assert mar_cny == [
        ReleaseLink(
            title="(4) China's Total Export & Import Values by Country/Region (in CNY)",
            url=GACC + MAR_CNY,
            published=None,  # the index shows no dates
            currency="CNY",
            table_number=4,
            period=date(2026, 3, 1),
        )
    ]
    table4 = [(link.currency, link.period) for link in links if link.table_number == 4]
    assert table4 == [("CNY", date(2026, 2, 1)), ("CNY", date(2026, 3, 1)), ("USD", date(2026, 2, 1)), ("USD", date(2026, 3, 1))]
    assert {link.table_number for link in links} == {1, 2, 3, 4, 5, 6}


def test_relative_links_resolve_against_the_index_url_and_dates_are_read():
    html = """<div class="nr-n-content-detail"><select id="preliminarysel"><option value="2025">2025</option>
    <option value="2024" selected>2024</option></select><table>
    <tr><td>(4) China's Total Export &amp; Import Values by Country/Region (in USD)</td>
        <td>2024/05/09</td><td><a href="../../Statics/abc.html?x=1"> Apr.</a><a href="javascript:void(0)">x</a></td></tr>
    <tr><td>Bulletin</td><td><a href="https://other.example/b.html">Bulletin</a></td></tr></table></div>
    <a href="/not/in/the/table.html">nav</a>"""
    links = parse_release_index(html, "http://mirror.example/statics/report/preliminary.html")
    assert links == [
        ReleaseLink(
            title="(4) China's Total Export & Import Values by Country/Region (in USD)",
            url="http://mirror.example/Statics/abc.html?x=1",
            published=date(2024, 5, 9),
            currency="USD",
            table_number=4,
            period=date(2024, 4, 1),
        ),
        ReleaseLink("Bulletin", "https://other.example/b.html", None, None, None, None),
    ]
    assert file_name_for(links[0]) == "gacc-preliminary-2024-04-t4-usd-" + file_name_for(links[0])[-13:]
    for link in links:
        name = file_name_for(link)
        assert name == file_name_for(link)  # stable
        assert all(c.isalnum() or c in "._-" for c in name) and name.endswith(".html")
    assert file_name_for(links[1]).startswith("gacc-preliminary-undated-tx-xxx-")


def test_a_page_without_the_release_table_is_not_an_empty_index():
    with pytest.raises(ValueError, match="nr-n-content-detail"):
        parse_release_index("<html><body><p>Service unavailable</p></body></html>", GACC + INDEX_PATH)


def test_file_name_of_the_march_cny_edition():
    link = ReleaseLink("(4) … by Country/Region (in CNY)", GACC + MAR_CNY, None, "CNY", 4, date(2026, 3, 1))
    assert file_name_for(link) == MAR_CNY_NAME


def test_inbox_scanner_ignores_partial_downloads(tmp_path):
    """The contract the HTTP source relies on: `.<name>.partial` in the inbox is never a release."""
    (tmp_path / f".{MAR_CNY_NAME}.partial").write_bytes(b"<html>half")
    (tmp_path / MAR_CNY_NAME).write_bytes(b"<html>whole</html>")
    assert inbox_files(tmp_path) == [tmp_path / MAR_CNY_NAME]


# --- HTTP: the happy path -----------------------------------------------------------------------


def test_new_page_lands_in_the_inbox_once(site, section4, inbox, state_file):
    site.serve_index()
    site.routes[MAR_CNY] = page(section4)
    source = site.source()

    report = source.fetch_new(inbox, state_file)
    assert report.failures == [] and report.skipped == 0
    assert report.downloaded == [inbox / MAR_CNY_NAME]
    assert (inbox / MAR_CNY_NAME).read_bytes() == section4  # the bytes as served
    assert visible_and_hidden(inbox) == [MAR_CNY_NAME]  # no partial file left
    state = json.loads(state_file.read_text(encoding="utf-8"))
    assert list(state) == [site.url(MAR_CNY)]
    assert state[site.url(MAR_CNY)]["file_name"] == MAR_CNY_NAME
    assert state[site.url(MAR_CNY)]["sha256"] == hashlib.sha256(section4).hexdigest()
    assert state[site.url(MAR_CNY)]["fetched_at"]
    assert [p.name for p in state_file.parent.iterdir()] == [state_file.name]  # no temp state file

    again = source.fetch_new(inbox, state_file)
    assert (again.downloaded, again.skipped, again.failures) == ([], 1, [])
    assert site.hits[MAR_CNY] == 1 and site.hits[INDEX_PATH] == 2

    (inbox / MAR_CNY_NAME).unlink()  # moved away after landing: the state file still knows the URL
    assert source.fetch_new(inbox, state_file).skipped == 1
    assert site.hits[MAR_CNY] == 1


def test_a_page_is_invisible_to_the_inbox_scanner_until_complete(site, section4, inbox, state_file):
    site.serve_index()
    seen_mid_download: list[tuple[list[Path], list[str]]] = []

    def in_two_halves(request: BaseHTTPRequestHandler, hit: int) -> None:
        request.send_response(200)
        request.send_header("Content-Type", HTML)
        request.send_header("Content-Length", str(len(section4)))
        request.end_headers()
        request.wfile.write(section4[:20_000])
        request.wfile.flush()
        time.sleep(0.3)  # the client has written the first half by now
        seen_mid_download.append((inbox_files(inbox), visible_and_hidden(inbox)))
        request.wfile.write(section4[20_000:])

    site.routes[MAR_CNY] = in_two_halves
    report = site.source().fetch_new(inbox, state_file)
    assert report.downloaded == [inbox / MAR_CNY_NAME]
    assert seen_mid_download == [([], [f".{MAR_CNY_NAME}.partial"])]
    assert visible_and_hidden(inbox) == [MAR_CNY_NAME]


def test_downloaded_page_parses_to_the_check_figures(site, section4, inbox, state_file):
    site.serve_index()
    site.routes[MAR_CNY] = page(section4)
    [path] = site.source().fetch_new(inbox, state_file).downloaded

    release = parse_release(path, path.name, ParseContext(today=date(2026, 11, 28)))
    assert release.format == "gacc_preliminary_country"
    assert (release.period.year, release.period.first_month, release.period.last_month) == (2026, 3, 3)
    assert release.currency == "CNY"
    columns = ("source_row", *(c.name for c in release.raw_table.columns))
    total = next(dict(zip(columns, row)) for row in release.rows if dict(zip(columns, row))["partner_name"] == "Total")
    assert total["total_month"] == Decimal("41046.4") * HUNDRED_MILLION
    assert total["total_ytd"] == Decimal("118380.0") * HUNDRED_MILLION
    assert total["exports_ytd"] == Decimal("68466.7") * HUNDRED_MILLION
    assert total["imports_ytd"] == Decimal("49913.3") * HUNDRED_MILLION


def test_a_file_already_in_the_inbox_is_not_fetched_again(site, section4, inbox, state_file):
    site.serve_index()
    site.routes[MAR_CNY] = page(section4)
    inbox.mkdir()
    (inbox / MAR_CNY_NAME).write_bytes(section4)
    report = site.source().fetch_new(inbox, state_file)
    assert (report.downloaded, report.skipped, report.failures) == ([], 1, [])
    assert site.hits[MAR_CNY] == 0
    assert json.loads(state_file.read_text())[site.url(MAR_CNY)]["file_name"] == MAR_CNY_NAME


# --- HTTP: failures of one link -----------------------------------------------------------------


def test_404_on_one_link_is_reported_and_not_retried_the_others_are_fetched(site, section4, inbox, state_file):
    site.serve_index()
    site.routes[MAR_CNY] = page(section4)  # the February page is not served: 404
    report = site.source(from_period="").fetch_new(inbox, state_file)
    assert report.downloaded == [inbox / MAR_CNY_NAME]
    assert report.failures == [(site.url(FEB_CNY), "HTTP 404")]
    assert site.hits[FEB_CNY] == 1  # a 4xx is final
    assert str(report.failures[0]) == f"{site.url(FEB_CNY)}: HTTP 404"
    assert list(json.loads(state_file.read_text())) == [site.url(MAR_CNY)]  # the failure is tried next time


def test_500_twice_then_200_succeeds_on_the_third_attempt(site, section4, inbox, state_file):
    site.serve_index()
    site.routes[MAR_CNY] = lambda request, hit: send(request, 500) if hit <= 2 else send(request, 200, section4)
    report = site.source().fetch_new(inbox, state_file)
    assert report.failures == [] and report.downloaded == [inbox / MAR_CNY_NAME]
    assert site.hits[MAR_CNY] == 3
    assert (inbox / MAR_CNY_NAME).read_bytes() == section4


def test_429_is_retried_too(site, section4, inbox, state_file):
    site.serve_index()
    site.routes[MAR_CNY] = lambda request, hit: send(request, 429) if hit == 1 else send(request, 200, section4)
    report = site.source().fetch_new(inbox, state_file)
    assert report.failures == [] and site.hits[MAR_CNY] == 2


def test_500_always_gives_up_after_the_configured_attempts_in_bounded_time(site, inbox, state_file):
    site.serve_index()
    site.routes[MAR_CNY] = status(500)
    started = time.monotonic()
    report = site.source(retries=3, backoff_seconds=0.05).fetch_new(inbox, state_file)
    elapsed = time.monotonic() - started
    assert only_failure(report) == (site.url(MAR_CNY), "HTTP 500 after 3 attempts")
    assert site.hits[MAR_CNY] == 3
    assert 0.05 + 0.1 <= elapsed < 3  # waited 0.05 × 2^0 then 0.05 × 2^1, and no more
    assert visible_and_hidden(inbox) == []


def test_slow_response_times_out(site, section4, inbox, state_file):
    site.serve_index()

    def slow(request: BaseHTTPRequestHandler, hit: int) -> None:
        if not site.stopping.wait(3):  # far longer than the timeout (released at teardown)
            send(request, 200, section4)

    site.routes[MAR_CNY] = slow
    started = time.monotonic()
    report = site.source(timeout_seconds=0.5, retries=1).fetch_new(inbox, state_file)
    assert only_failure(report) == (site.url(MAR_CNY), "timed out after 0.5 s")
    assert time.monotonic() - started < 2.5
    assert visible_and_hidden(inbox) == []


def test_truncated_body_fails_and_leaves_no_file_not_even_a_hidden_partial(site, section4, inbox, state_file):
    site.serve_index()
    site.routes[MAR_CNY] = lambda request, hit: send(request, 200, section4[:1200], content_length=5000)
    report = site.source(retries=2).fetch_new(inbox, state_file)
    url, reason = only_failure(report)
    assert url == site.url(MAR_CNY)
    assert reason == "body truncated: 1200 of 5000 bytes; 2 attempts"  # a broken connection is retried
    assert site.hits[MAR_CNY] == 2
    assert visible_and_hidden(inbox) == [] and inbox_files(inbox) == []
    assert not state_file.exists()


@pytest.mark.parametrize("content_type", ["application/pdf", "application/octet-stream"])
def test_wrong_content_type_is_refused_without_retry(site, section4, inbox, state_file, content_type):
    site.serve_index()
    site.routes[MAR_CNY] = page(section4, content_type=content_type)
    report = site.source().fetch_new(inbox, state_file)
    assert only_failure(report) == (site.url(MAR_CNY), f"Content-Type '{content_type}' not allowed")
    assert site.hits[MAR_CNY] == 1
    assert visible_and_hidden(inbox) == []


def test_a_link_to_a_host_outside_allowed_hosts_is_refused_without_a_request(site, section4, inbox, state_file):
    # The February link points at "localhost", the same server under a name not allowed: had the
    # source asked, the server would have counted the request.
    site.serve_index(hosts={FEB_CNY: f"http://localhost:{site.port}"})
    site.routes[MAR_CNY] = page(section4)
    site.routes[FEB_CNY] = page(section4)
    report = site.source(from_period="").fetch_new(inbox, state_file)
    assert report.failures == [(f"http://localhost:{site.port}{FEB_CNY}", "host 'localhost' not in allowed_hosts")]
    assert report.downloaded == [inbox / MAR_CNY_NAME]
    assert site.hits[FEB_CNY] == 0


def test_a_redirect_to_a_host_outside_allowed_hosts_is_not_followed(site, section4, inbox, state_file):
    site.serve_index()
    elsewhere = f"http://localhost:{site.port}/elsewhere.html"
    site.routes[MAR_CNY] = lambda request, hit: send(request, 302, headers={"Location": elsewhere})
    site.routes["/elsewhere.html"] = page(section4)
    url, reason = only_failure(site.source().fetch_new(inbox, state_file))
    assert reason == f"redirect (HTTP 302) to {elsewhere} refused: host 'localhost' not in allowed_hosts"
    assert site.hits["/elsewhere.html"] == 0 and site.hits[MAR_CNY] == 1


def test_a_redirect_within_allowed_hosts_is_followed(site, section4, inbox, state_file):
    site.serve_index()
    site.routes[MAR_CNY] = lambda request, hit: send(request, 301, headers={"Location": "/moved.html"})
    site.routes["/moved.html"] = page(section4)
    report = site.source().fetch_new(inbox, state_file)
    assert report.failures == [] and (inbox / MAR_CNY_NAME).read_bytes() == section4


def test_body_over_max_bytes_announced_by_content_length_is_refused_unread(site, section4, inbox, state_file):
    site.serve_index()
    site.routes[MAR_CNY] = page(section4)
    report = site.source(max_bytes=30_000).fetch_new(inbox, state_file)  # the index is 22 kB, the page 42 kB
    assert only_failure(report) == (
        site.url(MAR_CNY), f"larger than max_bytes: Content-Length {len(section4)} > 30000"
    )
    assert site.hits[MAR_CNY] == 1 and visible_and_hidden(inbox) == []


def test_body_over_max_bytes_without_content_length_is_cut_off_while_reading(site, section4, inbox, state_file):
    site.serve_index()

    def unannounced(request: BaseHTTPRequestHandler, hit: int) -> None:
        request.send_response(200)
        request.send_header("Content-Type", HTML)
        request.end_headers()  # HTTP/1.0, no Content-Length: the body ends when the server closes
        request.wfile.write(section4 * 3)

    site.routes[MAR_CNY] = unannounced
    report = site.source(max_bytes=100_000).fetch_new(inbox, state_file)
    assert only_failure(report) == (site.url(MAR_CNY), "larger than max_bytes: more than 100000 bytes")
    assert site.hits[MAR_CNY] == 1 and visible_and_hidden(inbox) == []


# --- HTTP: the index itself ---------------------------------------------------------------------


def test_index_unavailable_raises_with_the_reason(site, inbox, state_file):
    site.routes[INDEX_PATH] = status(500)
    with pytest.raises(SourceUnavailable) as caught:
        site.source(retries=2).fetch_new(inbox, state_file)
    assert str(caught.value) == f"release index {site.url(INDEX_PATH)}: HTTP 500 after 2 attempts"
    assert site.hits[INDEX_PATH] == 2
    assert not inbox.exists() and not state_file.exists()


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"allowed_hosts": ["english.customs.gov.cn"]}, "host '127.0.0.1' not in allowed_hosts"),
        ({"allowed_content_types": ["application/xhtml+xml"]}, "Content-Type 'text/html' not allowed"),
    ],
)
def test_index_refused_raises_without_retry(site, inbox, state_file, config, reason):
    site.serve_index()
    with pytest.raises(SourceUnavailable, match=f"release index .*: {reason}$"):
        site.source(**config).fetch_new(inbox, state_file)
    assert site.hits[INDEX_PATH] == (0 if "allowed_hosts" in config else 1)


def test_index_that_is_not_the_release_page_raises(site, inbox, state_file):
    site.routes[INDEX_PATH] = page(b"<html><body>Maintenance</body></html>")
    with pytest.raises(SourceUnavailable, match="nr-n-content-detail"):
        site.source().fetch_new(inbox, state_file)


# --- a local drop folder ------------------------------------------------------------------------


def test_local_folder_copies_new_files_once(tmp_path, inbox, state_file):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "2026-03.csv").write_text("a,b\n1,2\n")
    (drop / "2026-04.xlsx").write_bytes(b"PK\x03\x04 not really")
    (drop / ".DS_Store").write_bytes(b"x")
    (drop / ".2026-05.csv.partial").write_text("half")
    (drop / "notes.txt~").write_text("backup")
    (drop / "sub").mkdir()
    (drop / "sub" / "2026-06.csv").write_text("not taken")

    report = LocalFolderSource(folder=str(drop)).fetch_new(inbox, state_file)
    assert report.failures == [] and report.skipped == 0
    assert [p.name for p in report.downloaded] == ["2026-03.csv", "2026-04.xlsx"]
    assert visible_and_hidden(inbox) == ["2026-03.csv", "2026-04.xlsx"]
    assert (inbox / "2026-03.csv").read_text() == "a,b\n1,2\n"

    again = LocalFolderSource(folder=str(drop)).fetch_new(inbox, state_file)
    assert (again.downloaded, again.skipped, again.failures) == ([], 2, [])

    (inbox / "2026-03.csv").unlink()  # the pipeline or a person removed it: not copied back
    assert LocalFolderSource(folder=str(drop)).fetch_new(inbox, state_file).downloaded == []


def test_local_folder_default_is_the_inbox_itself(inbox, state_file):
    report = LocalFolderSource().fetch_new(inbox, state_file)
    assert (report.downloaded, report.skipped, report.failures) == ([], 0, [])
    assert not state_file.exists()


def test_local_folder_missing_raises(tmp_path, inbox, state_file):
    with pytest.raises(SourceUnavailable, match="does not exist"):
        LocalFolderSource(folder=str(tmp_path / "nowhere")).fetch_new(inbox, state_file)


def test_the_pipeline_polls_the_http_source_and_loads_the_release(site, section4, warehouse, monkeypatch):
    """End to end: the discover job's first asset fetches from the local server into the inbox, the
    registry archives it, the load and dbt runs carry it into staging; a failing link shows on the
    asset and fails the sources_reachable check without stopping anything else."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.ingest.source_assets import FETCHED_KEY

    from .conftest import run_pipeline_in_process

    site.serve_index()
    site.routes[MAR_CNY] = page(section4)  # the USD edition of March is not served: HTTP 404
    monkeypatch.setenv("TRADE_HTTP_INDEX_URL", site.url(INDEX_PATH))
    monkeypatch.setenv("TRADE_HTTP_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("TRADE_HTTP_FROM_PERIOD", "2026-03")

    assert run_pipeline_in_process()
    assert (warehouse.inbox / MAR_CNY_NAME).read_bytes() == section4
    total = warehouse.query(
        "SELECT total_month FROM staging.stg_gacc__preliminary_country_rows WHERE partner_name = 'Total'"
    )
    assert total == [(Decimal("41046.4") * HUNDRED_MILLION,)]
    instance = dg.DagsterInstance.get()
    fetched = instance.get_latest_materialization_event(FETCHED_KEY).asset_materialization.metadata
    assert fetched["new_files"].value == 1 and fetched["failures"].value == 1
    assert "HTTP 404" in fetched["problems"].value

    check = defs.resolve_job_def("discover_releases")
    result = check.execute_in_process(instance=instance, raise_on_error=False)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["sources_reachable"].passed is False
    assert site.hits[MAR_CNY] == 1  # polled again, nothing fetched twice
