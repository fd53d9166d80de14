"""Report pages in a real browser (headless Chromium through Playwright): they render with
no console error and fetch nothing from outside the run folder; screenshots are kept in
test-output/browser/ for a person to look at."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest
from conftest import TEST_OUTPUT


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output readable
        pass


def serve_folder(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A static server of ``folder`` on 127.0.0.1 (an ephemeral port): what a colleague
    opening the shared run folder would see, with every request visible to the browser."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.mark.slow
def test_front_page_and_a_notebook_page_render_cleanly_in_chromium(smoke_run, chromium):
    server, base = serve_folder(smoke_run)
    shots = TEST_OUTPUT / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        outside: list[str] = []
        missing: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)

        def only_the_run_folder(route) -> None:
            url = route.request.url
            if url.startswith(base) or url.startswith("data:"):
                route.continue_()
            else:  # any other host, CDN or file: the page would not open offline
                outside.append(url)
                route.abort()

        page.route("**/*", only_the_run_folder)
        for name in ("index.html", "07_evaluation.html"):
            page.goto(base + name, wait_until="load")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(shots / f"smoke_{Path(name).stem}.png"), full_page=True)
            broken = page.evaluate(
                "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                ".map(i => i.src.slice(0, 80))"
            )
            assert broken == [], f"{name}: images that did not load: {broken}"
            if name == "index.html":
                assert page.locator("h2", has_text="Results on test films").count() == 1
                assert page.locator("img").count() >= 1 and page.locator("table").count() >= 3
            else:
                assert page.locator("audio").count() >= 1, "07 embeds audio players"
        assert errors == [], f"console errors: {errors}"
        assert outside == [], f"requests leaving the run folder: {outside}"
        assert missing == [], f"requests the run folder cannot answer: {missing}"
    finally:
        server.shutdown()
