"""Report pages in a real browser (headless Chromium through Playwright): they render with
no console error and fetch nothing from outside the run folder; screenshots are kept in
test-output/browser/ for a person to look at."""

from __future__ import annotations

import base64
import io
import json
import threading
from pathlib import Path

import pytest
import soundfile as sf
from conftest import WatchedPage, index_copy, screenshots


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
def test_library_page_searches_plays_at_the_cut_and_finds_more_like_this(built, chromium,
                                                                         tmp_path):  # fmt: skip
    built = index_copy(built, tmp_path)  # the page writes a shortlist into it
    server, base = serve_index(built)
    shots = screenshots()
    try:
        watched = WatchedPage(chromium, base, {"width": 1280, "height": 800})
        page = watched.page
        page.goto(base, wait_until="networkidle")
        page.wait_for_function("document.getElementById('about').textContent.includes('tracks')")
        assert page.locator("#weights input[type=range]").count() == 10  # folded away
        # a mix typed with a negative weight: ten compact hits fit a laptop's screen
        page.fill("#q", "Drama -Thriller")
        page.click("#search")
        page.wait_for_selector(".hit")
        hits = page.locator(".hit")
        assert hits.count() >= 10
        assert hits.nth(9).bounding_box()["y"] + hits.nth(9).bounding_box()["height"] <= 800
        first = hits.nth(0)
        assert first.locator(".bars").count() == 0  # the ten genre bars only on demand
        first.locator(".open").click()
        assert first.locator(".bars .bar:not(.mood)").count() == 10
        widths = first.locator(".bars .bar:not(.mood) span").evaluate_all(
            "spans => spans.map(s => parseFloat(s.style.width))")
        assert len(widths) == 10 and all(0 <= w <= 100 for w in widths) and max(widths) > 0
        # and the track's moods: nine emotions (0..1) and valence and arousal (from the middle)
        assert first.locator(".bars .bar.mood").count() == 11
        moods = first.locator(".bars .bar.mood span").evaluate_all(
            "spans => spans.map(s => [parseFloat(s.style.left), parseFloat(s.style.width)])")
        assert all(0 <= left and left + width <= 100.01 for left, width in moods), moods
        # a brief's words: read as moods, the asked mood shown first and in bold
        page.fill("#q", "calm -vocals")
        page.click("#search")
        page.wait_for_function("document.getElementById('read').textContent.includes('calmness')")
        assert "<b>calmness</b>" in hits.nth(0).locator(".fits").inner_html()
        # the long track's strip: one shaded span per segment; a click plays from there
        page.fill("#q", "Drama")
        page.fill("#duration", "30-")
        page.click("#search")
        page.wait_for_function("document.querySelectorAll('.hit').length === 1")
        segments = page.locator(".hit .strip span")
        assert segments.count() >= 3
        starts = segments.evaluate_all("s => s.map(x => parseFloat(x.dataset.start))")
        assert starts == sorted(starts) and starts[0] == 0
        shades = segments.evaluate_all("s => s.map(x => parseFloat(x.style.opacity))")
        assert max(shades) == 1 and min(shades) < 1  # shaded by fit within the track
        assert page.locator(".hit .strip span.best").count() == 1
        page.evaluate("document.getElementById('player').muted = true")
        segments.nth(1).click()
        page.wait_for_function(f"document.getElementById('player').currentTime > {starts[1]}")
        played = page.evaluate("""async () => {
            const a = document.getElementById('player');
            const first = a.currentTime;
            await new Promise(r => setTimeout(r, 1200));
            return {first: first, now: a.currentTime, paused: a.paused};
        }""")
        assert played["now"] > played["first"] >= starts[1] and not played["paused"], played
        page.fill("#duration", "")
        # typed words complete from the index's vocabulary
        page.fill("#q", "")
        page.type("#q", "Drama pia")
        page.wait_for_selector("#suggest li")
        assert "piano" in page.locator("#suggest li").all_inner_texts()[0]
        page.locator("#suggest li").nth(0).dispatch_event("mousedown")
        assert page.input_value("#q") == "Drama piano "
        page.fill("#q", "")
        page.type("#q", "Romance no voc")
        page.wait_for_selector("#suggest li")
        page.keyboard.press("Tab")
        assert page.input_value("#q") == "Romance no vocals "
        # an unknown word and an empty search: 400s in words, shown on the page
        page.fill("#q", "Romance pianno")
        page.click("#search")
        page.wait_for_function("document.getElementById('error').textContent.includes('piano')")
        page.fill("#q", "")
        page.click("#search")
        page.wait_for_function("document.getElementById('error').textContent.length > 0")
        assert "nothing to search by" in page.inner_text("#error")
        # a shortlist: add two hits, a note, remove one; exports and a cut of the best segment
        page.fill("#q", "Romance Comedy")
        page.click("#search")
        page.wait_for_selector(".hit")
        for n in (0, 1):
            page.locator(".hit .add").nth(n).click()
            page.wait_for_function(f"document.querySelectorAll('#shortlist li').length === {n + 1}")
        page.locator("#shortlist li input").nth(0).fill("opening titles")
        with page.expect_response(lambda r: "api/shortlist" in r.url
                                  and r.request.method == "POST"):  # fmt: skip
            page.locator("#shortlist li input").nth(0).press("Enter")
        page.locator("#shortlist li .remove").nth(1).click()
        page.wait_for_function("document.querySelectorAll('#shortlist li').length === 1")
        fetched = page.evaluate("""async () => {
            const text = async (f) => (await fetch('api/shortlist/export?format=' + f)).text();
            const cut = await fetch(document.querySelector('#shortlist li a.cut').href);
            const bytes = new Uint8Array(await cut.arrayBuffer());
            let bin = ''; for (const b of bytes) bin += String.fromCharCode(b);
            return {m3u8: await text('m3u8'), csv: await text('csv'), json: await text('json'),
                    wav: btoa(bin), type: cut.headers.get('content-type'),
                    span: cut.headers.get('x-cut')};
        }""")
        entry = json.loads(fetched["json"])["tracks"]
        assert len(entry) == 1 and entry[0]["note"] == "opening titles", entry
        assert fetched["m3u8"].startswith("#EXTM3U") and entry[0]["path"] in fetched["m3u8"]
        assert "opening titles" in fetched["csv"]
        audio, rate = sf.read(io.BytesIO(base64.b64decode(fetched["wav"])))
        start, end = entry[0]["start"], entry[0]["end"]
        assert fetched["type"] == "audio/wav" and rate == sf.info(
            str(built_library_file(built, entry[0]["path"]))).samplerate  # its own rate
        assert abs(len(audio) / rate - (end - start)) < 0.01, (len(audio) / rate, start, end)
        assert abs(audio[0]).max() < 1e-3  # faded in
        # more like this: the reference leaves the list, the note names it
        reference = page.locator(".hit").nth(0).get_attribute("data-track")
        page.locator(".hit .more").nth(0).click()
        page.wait_for_function("document.getElementById('ref-note').textContent"
                               ".startsWith('reference: ')")
        page.wait_for_function("!Array.from(document.querySelectorAll('.hit'))"
                               f".some(h => h.dataset.track === '{reference}')")
        assert page.locator(".hit").count() >= 3
        page.screenshot(path=str(shots / "library_search.png"))
        errors = [e for e in watched.errors if "400" not in e]  # the refused queries, on purpose
        assert errors == [], f"console errors: {errors}"
        assert watched.outside == [], f"requests leaving the page's server: {watched.outside}"
    finally:
        server.should_exit = True


def built_library_file(index_file: Path, rel: str) -> Path:
    """The file on disk of a track of an index, by its path in the library."""
    from filmgenre.library import store

    return Path(store.get_meta(store.connect(index_file), "library")) / rel
