"""The README's picture of the page: an index served on 127.0.0.1, a mixed query typed,
two hits put on the shortlist with a note, the long track's strip in view; saved as
docs/library-page.png (1280x800, a laptop's screen).

    .venv/bin/python scripts/library_screenshot.py --index data/indexes/realaudio.sqlite \
        --query "calm piano -vocals" --out docs/library-page.png

Needs Debian's Chromium (apt-get install chromium) and Playwright's Python package.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--query", default="calm piano -vocals")
    parser.add_argument("--out", type=Path, default=Path("docs/library-page.png"))
    args = parser.parse_args()

    import uvicorn
    from playwright.sync_api import sync_playwright

    from filmgenre.library.server import create_app

    with tempfile.TemporaryDirectory() as folder:
        # a copy: the shortlist the picture shows is not left in the user's index
        copy = Path(folder) / args.index.name
        with sqlite3.connect(copy) as target:
            sqlite3.connect(args.index).backup(target)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(copy), host="127.0.0.1", port=port,
                                               log_level="warning"))  # fmt: skip
        threading.Thread(target=server.run, daemon=True).start()
        for _ in range(200):  # 10 s at most
            if server.started:
                break
            time.sleep(0.05)
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"http://127.0.0.1:{port}/", wait_until="networkidle")
                page.wait_for_function("document.getElementById('about').textContent"
                                       ".includes('tracks')")  # fmt: skip
                page.fill("#q", args.query)
                page.click("#search")
                page.wait_for_selector(".hit")
                for n in (0, 2):
                    page.locator(".hit .add").nth(n).click()
                    page.wait_for_function("document.querySelectorAll('#shortlist li').length"
                                           f" === {1 if n == 0 else 2}")  # fmt: skip
                page.locator("#shortlist li input").nth(0).fill("main titles, under dialogue")
                with page.expect_response(lambda r: "api/shortlist" in r.url
                                          and r.request.method == "POST"):  # fmt: skip
                    page.locator("#shortlist li input").nth(0).press("Enter")
                page.locator(".hit .open").nth(0).click()  # one hit's genre and mood bars
                page.evaluate("document.getElementById('player').muted = true")
                page.locator(".hit .strip span").nth(0).click()
                page.wait_for_timeout(1500)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.should_exit = True
    print(f"{args.out}: the page for {args.query!r}")


if __name__ == "__main__":
    main()
