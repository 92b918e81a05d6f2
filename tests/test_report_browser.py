"""The study's HTML report as a reader sees it: opened in headless Chromium, and parsed offline.

The browser test needs Debian's ``chromium`` (``scripts/ensure-apt.sh`` installs it, and
``make test`` runs that script first) and the ``playwright`` package; it skips without either.
It saves screenshots (the top of the report as a reader first sees it, the factor chart, and
the whole page) to the test's tmp folder and, when ``CTDC_TEST_ARTIFACTS`` names a folder,
copies them there for CI to keep.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import keep_screenshots

SECTION_IDS = ("banner", "summary", "factor-chart", "caveats", "appendix-factors")
# Headless, as root, and quiet: without the background-networking flags Chromium keeps trying
# (and failing) to reach Google's services. The user-data-dir is passed separately (fresh).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOW_TO_GET_CHROMIUM = "run `make browser` (or `make test`, which runs it)"
URL_ATTRIBUTES = {"src", "href", "srcset", "poster", "data", "action", "formaction", "background"}


def _chromium() -> str | None:
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def report(small_study) -> Path:  # type: ignore[no-untyped-def]
    """Where the session's study (run on small synthetic data) wrote its report."""
    return Path(small_study.result.out_dir) / "report.html"


def _assert_written(report: Path) -> None:
    written = sorted(p.name for p in report.parent.iterdir()) if report.parent.is_dir() else []
    assert report.is_file(), f"report.html not written by run_study (it wrote: {written})"


@pytest.mark.slow
def test_report_renders_self_contained_in_chromium(report: Path, tmp_path: Path) -> None:
    executable = _chromium()
    if executable is None:
        pytest.skip(f"no chromium executable found; {HOW_TO_GET_CHROMIUM}")
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason=f"playwright is not importable; install the dev extras and {HOW_TO_GET_CHROMIUM}",
    )
    _assert_written(report)

    requested: list[str] = []
    screenshot = tmp_path / "report.png"
    top_shot = tmp_path / "report_top.png"
    chart_shot = tmp_path / "report_factor_chart.png"
    with (
        tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile,
        sync_api.sync_playwright() as pw,
    ):
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            # Registered on the context before navigation, so no page's request escapes it.
            context.on("request", lambda request: requested.append(request.url))
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(15_000)
            page.goto(report.resolve().as_uri(), wait_until="load")
            images = page.locator("img")
            for i in range(images.count()):  # lazy images load once scrolled to
                images.nth(i).scroll_into_view_if_needed()
            page.wait_for_function("Array.from(document.images).every(img => img.complete)")
            # Saved before any check, so CI keeps a picture of a failing report too.
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(top_shot))
            chart = page.locator('#factor-chart img[alt="forest plot of adjusted odds ratios"]')
            if chart.count():
                chart.screenshot(path=str(chart_shot))
            page.screenshot(path=str(screenshot), full_page=True)
            keep_screenshots([top_shot, chart_shot, screenshot])

            # Generated data says so first, in the first screen a reader sees.
            banner = page.locator("#banner")
            sync_api.expect(banner).to_contain_text("Generated demonstration data, not CTDC")
            box = banner.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 900, box
            assert page.locator("#reference").count() == 0, "generated data beside IOM figures"
            # The factor chart fits a reader's screen or two, with plain ticks (tested in
            # test_report_content) and its scale at the top as well.
            size = chart.evaluate("img => [img.naturalWidth, img.naturalHeight]")
            assert 0 < size[1] <= 1300, size

            network = [url for url in requested if not url.startswith(("file:", "data:"))]
            assert not network, f"the report made network requests: {network}"

            for section in SECTION_IDS:
                locator = page.locator(f"#{section}")
                assert locator.count() == 1, f"expected one element with id {section!r}"
                sync_api.expect(locator).to_be_visible()
            summary = page.locator("#summary").inner_text().strip()
            assert summary, "#summary is visible but has no text"

            found = page.evaluate(
                "Array.from(document.images).map(img => "
                "({src: img.getAttribute('src') || '', width: img.naturalWidth}))"
            )
            assert found, "the report has no <img>; the factor chart should be an embedded image"
            broken = [img["src"][:80] for img in found if img["width"] <= 0]
            assert not broken, f"images that did not load: {broken}"
            external = [img["src"][:80] for img in found if not img["src"].startswith("data:")]
            assert not external, f"images not embedded as data: URIs: {external}"
        finally:
            context.close()

    # Requests made after the checks (none expected) are still caught here.
    network = [url for url in requested if not url.startswith(("file:", "data:"))]
    assert not network, f"the report made network requests: {network}"
    assert screenshot.stat().st_size > 0
    for shot in (top_shot, chart_shot):
        width, height = struct.unpack(">II", shot.read_bytes()[16:24])
        assert width > 300 and height > 200, (shot.name, width, height)


class _ExternalRefs(HTMLParser):
    """Collects every reference a report would fetch (or link to) outside itself."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.offenders: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "style":
            self._in_style = True
        for name, value in attrs:
            value = (value or "").strip()
            if tag == "script" and name == "src":
                self.offenders.append(f"<script src={value!r}>")
            elif name in URL_ATTRIBUTES and value.lower().startswith(("http:", "https:", "//")):
                self.offenders.append(f"<{tag} {name}={value!r}>")
            elif name == "style":
                self._check_css(value, where=f"<{tag} style>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._check_css(data, where="<style>")

    def _check_css(self, css: str, *, where: str) -> None:
        compact = "".join(css.lower().split()).replace('"', "").replace("'", "")
        for bad in ("@import", "url(http", "url(//"):
            if bad in compact:
                self.offenders.append(f"{where} contains {bad!r}")


def test_report_html_references_nothing_outside_itself(report: Path) -> None:
    _assert_written(report)
    html = report.read_text(encoding="utf-8")
    parser = _ExternalRefs()
    parser.feed(html)
    parser.close()
    assert not parser.offenders, f"report.html is not self-contained: {parser.offenders}"
    lowered = html.lower()
    for needle in ('src="http', "src='http", 'href="http', "href='http", "@import"):
        assert needle not in lowered, f"report.html contains {needle!r}"
