"""Shortlists kept in the index file and cuts of indexed tracks: the command line and the
page's API, on the session's index of real decoding (a private copy: these tests write)."""

from __future__ import annotations

import csv
import io
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from conftest import index_copy

from filmgenre.cli import main
from filmgenre.library import index as idx
from filmgenre.library import shortlist, store


@pytest.fixture
def index_file(built, tmp_path):
    return index_copy(built, tmp_path)


def _long_theme(con) -> tuple[int, str]:
    return con.execute("SELECT id, path FROM tracks WHERE path LIKE '%long theme.flac'"
                       ).fetchone()  # fmt: skip


@pytest.mark.slow
def test_a_shortlist_survives_a_rebuild_and_exports_m3u8_csv_json(built, tmp_path, capsys,
                                                                  library_folder, model_dir):
    from filmgenre.library.ingest import build

    # a library of its own (this test changes a file): the long theme and two cues
    music = tmp_path / "music"
    for rel in ("album0/long theme.flac", *sorted(
            p.relative_to(library_folder).as_posix()
            for p in (library_folder / "album1").glob("*.wav"))[:2]):  # fmt: skip
        (music / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(library_folder / rel, music / rel)
    index_file = tmp_path / "library.sqlite"
    build(music, index_file, model_dir, progress=False)
    con = store.connect(index_file)
    tid, path = _long_theme(con)
    other = con.execute("SELECT id FROM tracks WHERE status = 'ok' AND id != ? LIMIT 1",
                        (tid,)).fetchone()[0]  # fmt: skip
    assert main(["shortlist", "add", str(tid), str(other), "--index", str(index_file),
                 "--note", "main titles"]) == 0  # fmt: skip
    assert main(["shortlist", "add", str(music / path), "--index", str(index_file), "--start",
                 "15", "--end", "30"]) == 0  # by its file; the note is kept  # fmt: skip
    assert main(["shortlist", "add", str(other), "--index", str(index_file), "--list",
                 "car chase"]) == 0  # fmt: skip
    rows = shortlist.entries(con)
    assert [r["id"] for r in rows] == [tid, other] and rows[0]["note"] == "main titles"
    assert (rows[0]["start"], rows[0]["end"]) == (15.0, 30.0)
    assert shortlist.names(con) == ["car chase", "shortlist"]
    # the file leaves the library: the list keeps it, marked missing; back, it is found again
    import time

    moved = tmp_path / "moved.flac"
    shutil.move(music / path, moved)
    started = time.perf_counter()
    build(music, index_file, model_dir, progress=False)
    con = store.connect(index_file)
    assert shortlist.entries(con)[0]["missing"] and shortlist.entries(con)[0]["id"] is None
    assert shortlist.entries(con)[0]["note"] == "main titles"
    shutil.move(moved, music / path)
    build(music, index_file, model_dir, progress=False)
    print(f"two rebuilds: {time.perf_counter() - started:.1f} s")
    con = store.connect(index_file)
    assert not shortlist.entries(con)[0]["missing"]
    assert shortlist.entries(con)[0]["id"] == _long_theme(con)[0]
    for fmt in ("m3u8", "csv", "json"):
        out = tmp_path / "exports" / f"picks.{fmt}"
        out.parent.mkdir(exist_ok=True)
        assert main(["shortlist", "export", "--index", str(index_file), "--out", str(out)]) == 0
    m3u8 = (tmp_path / "exports" / "picks.m3u8").read_text().splitlines()
    assert m3u8[0] == "#EXTM3U" and m3u8[2].startswith("#EXTINF:40,Tester - Long Theme")
    listed = [ln for ln in m3u8 if not ln.startswith("#")]
    assert len(listed) == 2 and all((tmp_path / "exports" / p).resolve().is_file()
                                    for p in listed)  # relative to the playlist  # fmt: skip
    table = list(csv.DictReader(io.StringIO((tmp_path / "exports" / "picks.csv").read_text())))
    assert table[0]["path"] == path and table[0]["note"] == "main titles"
    assert json.loads((tmp_path / "exports" / "picks.json").read_text())["tracks"][1]["id"] == other
    # remove, show, and the mistakes a user makes, each in words
    assert main(["shortlist", "remove", str(other), "--index", str(index_file)]) == 0
    capsys.readouterr()
    assert main(["shortlist", "show", "--index", str(index_file)]) == 0
    shown = capsys.readouterr().out
    assert "1 track(s)" in shown and "Long Theme" in shown and "car chase" in shown
    mistakes = ((["export", "--out", str(tmp_path / "nowhere" / "x.m3u8")], "no such folder"),
                (["export", "--out", str(tmp_path / "x.txt")], "choose one of m3u8"),
                (["add", "99999"], "no such track"),
                (["add", "not/in/the/library.wav"], "not a track of the index"),
                (["remove", str(other)], "not on the list"),
                (["add", str(tid), "--start", "5"], "both the start and the end"))
    for argv, words in mistakes:
        assert main(["shortlist", *argv[:1], *argv[1:], "--index", str(index_file)]) == 1
        assert words in capsys.readouterr().err, argv


@pytest.mark.slow
def test_a_cut_is_a_faded_wav_at_the_files_own_rate(index_file, tmp_path, capsys, library_folder):
    con = store.connect(index_file)
    tid, path = _long_theme(con)
    source, rate = sf.read(library_folder / path)
    out = tmp_path / "cut.wav"
    assert main(["cut", str(tid), "--index", str(index_file), "--start", "10", "--end", "12.5",
                 "--out", str(out)]) == 0  # fmt: skip
    clip, clip_rate = sf.read(out)
    assert clip_rate == rate and len(clip) == round(2.5 * rate)
    assert abs(clip[0]) < 1e-3 and abs(clip[-1]) < 1e-3  # faded in and out
    middle = slice(len(clip) // 2 - 100, len(clip) // 2 + 100)
    expected = source[round(10 * rate):round(12.5 * rate)][middle]
    assert np.allclose(clip[middle], expected, atol=2 / 32768)  # 16-bit: the same samples
    # the best segment for a query: the one search names
    from filmgenre.library import search
    from filmgenre.library.query import parse_query

    snap = idx.snapshot(con)
    hit = [h for h in search.run(con, snap, parse_query("Drama", snap.genres), top=20)
           if h.id == tid][0]  # fmt: skip
    assert main(["cut", path, "--index", str(index_file), "--segment", "best", "--query",
                 "Drama", "--out", str(out)]) == 0  # fmt: skip
    assert f"from {hit.segment[0]:.2f} s to {hit.segment[1]:.2f} s" in capsys.readouterr().out
    assert abs(sf.info(str(out)).duration - (hit.segment[1] - hit.segment[0])) < 1e-3
    mistakes = ((["--start", "30", "--end", "45"], "lasts 40.00 s: a cut to 45 s runs past"),
                (["--start", "5", "--end", "2"], "before the end"),
                (["--segment", "best"], "needs --query"),
                (["--segment", "99"], "segment 99 does not exist"),
                (["--segment", "best", "--query", "Dramma"], "did you mean"),
                (["--start", "1", "--end", "2", "--out", str(tmp_path / "no" / "c.wav")],
                 "no such folder"))
    for argv, words in mistakes:
        args = ["cut", str(tid), "--index", str(index_file), *argv]
        if "--out" not in argv:
            args += ["--out", str(out)]
        assert main(args) == 1, argv
        assert words in capsys.readouterr().err, argv


@pytest.mark.slow
def test_the_page_api_keeps_a_shortlist_and_cuts_with_400s_in_words(index_file):
    from starlette.testclient import TestClient

    from filmgenre.library.server import create_app

    con = store.connect(index_file)
    tid, _ = _long_theme(con)
    with TestClient(create_app(index_file)) as client:
        added = client.post("/api/shortlist", json={"track": tid, "note": "reel 2",
                                                    "start": 0, "end": 15})  # fmt: skip
        assert added.status_code == 200 and added.json()["tracks"][0]["note"] == "reel 2"
        listed = client.get("/api/shortlist").json()
        assert [t["id"] for t in listed["tracks"]] == [tid] and listed["lists"] == ["shortlist"]
        exported = client.get("/api/shortlist/export", params={"format": "m3u8"})
        assert exported.status_code == 200 and "#EXTINF:40,Tester - Long Theme" in exported.text
        assert "attachment" in exported.headers["content-disposition"]
        cut = client.get("/api/cut", params={"track": tid, "start": 2, "end": 4})
        assert cut.status_code == 200 and cut.headers["content-type"] == "audio/wav"
        clip, rate = sf.read(io.BytesIO(cut.content))
        assert len(clip) == 2 * rate
        for method, url, kwargs, words in (
            ("get", "/api/cut", {"params": {"track": tid, "start": 30, "end": 50}}, "runs past"),
            ("get", "/api/cut", {"params": {"track": tid, "start": "x", "end": 4}},
             "not a number"),
            ("get", "/api/cut", {"params": {"track": 99999, "start": 1, "end": 2}},
             "no such track"),
            ("get", "/api/shortlist/export", {"params": {"format": "mp3"}}, "choose one of"),
            ("post", "/api/shortlist", {"json": {"note": "x"}}, "give the track"),
            ("post", "/api/shortlist", {"content": b"not json"}, "send the track as JSON"),
            ("delete", "/api/shortlist", {"params": {"track": 99999}}, "no such track"),
        ):
            bad = getattr(client, method)(url, **kwargs)
            assert bad.status_code == 400 and words in bad.json()["error"], (url, bad.text)
        assert client.delete("/api/shortlist", params={"track": tid}).json()["tracks"] == []
