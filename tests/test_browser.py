"""Report pages in a real browser (headless Chromium through Playwright): they render with
no console error and fetch nothing from outside the run folder; screenshots are kept in
test-output/browser/ for a person to look at."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import WatchedPage, screenshots


def serve_index(index_file: Path):
    """``filmgenre serve``'s application under uvicorn on 127.0.0.1 (ephemeral port), in a
    thread; returns (server, base URL)."""
    import socket
    import time

    import uvicorn

    from filmgenre.library.server import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(index_file), host="127.0.0.1", port=port,
                                           log_level="warning"))  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):  # bounded: 10 s at most
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the page's server did not start"
    return server, f"http://127.0.0.1:{port}/"


@pytest.mark.slow
def test_library_page_searches_plays_at_the_cut_and_finds_more_like_this(built, chromium):
    server, base = serve_index(built)
    shots = screenshots()
    try:
        watched = WatchedPage(chromium, base, {"width": 1280, "height": 1000})
        page = watched.page
        page.goto(base, wait_until="networkidle")
        page.wait_for_function("document.getElementById('about').textContent.includes('tracks')")
        assert page.locator("#weights input[type=range]").count() == 10
        # a mix typed with a negative weight
        page.fill("#q", "Drama -Thriller")
        page.click("#search")
        page.wait_for_selector(".hit")
        hits = page.locator(".hit")
        assert hits.count() >= 5
        first = hits.nth(0)
        assert first.locator(".bars .bar").count() == 10  # the ten genre bars
        widths = first.locator(".bars .bar span").evaluate_all(
            "spans => spans.map(s => parseFloat(s.style.width))")
        assert len(widths) == 10 and all(0 <= w <= 100 for w in widths) and max(widths) > 0
        # play the long track from its best cut: currentTime moves past the cut's start
        page.fill("#q", "Drama")
        page.fill("#duration", "30-")
        page.click("#search")
        page.wait_for_function("document.querySelectorAll('.hit').length === 1")
        played = page.evaluate("""async () => {
            const a = document.querySelector('.hit audio');
            a.muted = true;
            if (a.readyState < 1)
                await new Promise(r => a.addEventListener('loadedmetadata', r, {once: true}));
            await new Promise(r => setTimeout(r, 200));
            const cut = a.currentTime;
            await a.play();
            await new Promise(r => setTimeout(r, 1200));
            return {cut: cut, now: a.currentTime, paused: a.paused};
        }""")
        assert played["now"] > 0 and played["now"] > played["cut"], played
        page.fill("#duration", "")
        # more like this: the reference leaves the list, the note names it
        page.fill("#q", "")
        page.click("#search")  # no mix, no reference: the server answers 400 in words
        page.wait_for_function("document.getElementById('error').textContent.length > 0")
        assert "nothing to search by" in page.inner_text("#error")
        page.fill("#q", "Romance Comedy")
        page.click("#search")
        page.wait_for_selector(".hit")
        reference = page.locator(".hit").nth(0).get_attribute("data-track")
        page.locator(".hit .more").nth(0).click()
        page.wait_for_function("document.getElementById('ref-note').textContent.startsWith('like:')")
        page.wait_for_function("!Array.from(document.querySelectorAll('.hit'))"
                               f".some(h => h.dataset.track === '{reference}')")
        assert page.locator(".hit").count() >= 3
        page.screenshot(path=str(shots / "library_search.png"), full_page=True)
        errors = [e for e in watched.errors if "400" not in e]  # the refused query, on purpose
        assert errors == [], f"console errors: {errors}"
        assert watched.outside == [], f"requests leaving the page's server: {watched.outside}"
    finally:
        server.should_exit = True
