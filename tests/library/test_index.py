"""A library's index, its queries and its page: incremental builds, resumed builds, the
query language, errors in words, and no file served that the index does not list."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import flac_with_tags as _flac_with_tags

from filmgenre.config import project_root
from filmgenre.genres import GENRES
from filmgenre.library import index as idx
from filmgenre.library import search, store
from filmgenre.library.progress import build_line
from filmgenre.library.query import QueryError, parse_mix, parse_range


def _copy_index(index_file: Path, tmp_path: Path) -> Path:
    """A private copy of an index (WAL content included) that a test may change."""
    target = tmp_path / "copy.sqlite"
    src = sqlite3.connect(index_file)
    dst = sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return target


@pytest.mark.slow
def test_build_stores_tracks_segments_tags_and_every_skip_with_why(built, library_folder):
    con = store.connect(built)
    info = store.summary(con)
    assert info["tracks"] == 13 and info["schema_version"] == store.SCHEMA_VERSION
    assert info["model"]["trained_on"]["synthetic"] is False
    assert info["model"]["cross_validation"]["macro_roc_auc"] > 0.6
    reasons = dict(store.skipped(con))
    assert reasons["album1/cue sheet.txt"].startswith("not an audio file extension")
    assert reasons["album1/broken.mp3"].startswith("corrupt or not a .mp3 file")
    assert "outside the library" in reasons["album2/link-out.wav"]
    (tid, title, artist, album, number, duration, tempo) = con.execute(
        "SELECT id, title, artist, album, track_number, duration, tempo FROM tracks "
        "WHERE path = 'album0/long theme.flac'").fetchone()  # fmt: skip
    assert (title, artist, album, number) == ("Long Theme", "Tester", "Suite", 3)
    assert duration == pytest.approx(40.0, abs=0.1) and tempo is None or tempo > 0
    segs = store.segments_of(con, [tid])[tid]
    assert [(a, b) for a, b, *_ in segs] == [(0.0, 15.0), (15.0, 30.0),
                                            (30.0, pytest.approx(40.0, abs=0.1))]  # fmt: skip
    snap = idx.snapshot(con)
    assert snap.scores.shape == (13, len(GENRES)) and np.all((snap.scores > 0) & (snap.scores < 1))
    assert snap.vectors.shape[0] == 13 and np.linalg.norm(snap.vectors, axis=1).min() > 0
    # a cue's title falls back to its file name
    assert con.execute("SELECT COUNT(*) FROM tracks WHERE status = 'ok' AND title IS NULL"
                       ).fetchone()[0] == 0  # fmt: skip


@pytest.mark.slow
def test_rebuild_is_incremental(built, library_folder, model_dir, tmp_path):
    """Unchanged files are not read; a touched file with the same bytes stays; a changed
    file is redone, a deleted one removed, a new one added; nothing else recomputed."""
    from filmgenre.library.ingest import build

    folder = tmp_path / "music"
    shutil.copytree(library_folder, folder, symlinks=True)
    index_file = tmp_path / "lib.sqlite"
    first = build(folder, index_file, model_dir, progress=False)
    assert first.added == 13
    again = build(folder, index_file, model_dir, progress=False)
    counts = (again.added, again.redone, again.removed, again.rescored, again.unchanged)
    assert counts == (0, 0, 0, 0, 14)  # 13 tracks and the broken MP3, not tried again
    wavs = sorted(folder.rglob("*.wav"))
    os.utime(wavs[0], (1e9, 1e9))  # new mtime, same bytes
    _flac_with_tags(folder / "album0" / "long theme.flac", 20.0, 330.0, title="Long Theme v2")
    wavs[1].unlink()
    _flac_with_tags(folder / "album2" / "new cue.flac", 12.0, 440.0)
    con = store.connect(index_file)
    before = dict(con.execute("SELECT path, scores FROM tracks WHERE status = 'ok'"))
    third = build(folder, index_file, model_dir, progress=False)
    assert (third.added, third.redone, third.removed, third.unchanged) == (1, 1, 1, 12), third
    after = dict(con.execute("SELECT path, scores FROM tracks WHERE status = 'ok'"))
    same = [p for p in after if p in before and after[p] == before[p]]
    assert len(same) == 11 and after["album0/long theme.flac"] != before["album0/long theme.flac"]
    assert con.execute("SELECT title FROM tracks WHERE path = 'album0/long theme.flac'"
                       ).fetchone()[0] == "Long Theme v2"  # fmt: skip


@pytest.mark.slow
def test_another_model_rescores_from_cached_features(built, library_folder, tiny_manifest,
                                                     tmp_path):  # fmt: skip
    from filmgenre.evaluation.crossval import final, vectors
    from filmgenre.library.ingest import build

    x = vectors.cue_vectors(tiny_manifest, ["mfcc_stats"])
    other = final.fit_final("mfcc_logreg", tiny_manifest, x, tmp_path / "mfcc_final")
    index_file = _copy_index(built, tmp_path)
    report = build(library_folder, index_file, other, progress=False)
    assert report.rescored == 13 and report.added == report.redone == 0
    con = store.connect(index_file)
    assert store.get_meta(con, "model")["name"] == "mfcc_final"
    scored_by = f"{store.get_meta(con, 'model')['key']}+{store.get_meta(con, 'mood_model')['key']}"
    assert {k for (k,) in con.execute("SELECT DISTINCT model_key FROM tracks WHERE status = 'ok'")
            } == {scored_by}  # the genre model and the mood model that scored every track
    assert idx.snapshot(con).vectors.shape[1] <= 160  # the new model's vector, projected


@pytest.mark.slow
def test_a_killed_build_resumes_to_the_index_an_uninterrupted_build_makes(
        built, library_folder, model_dir, tmp_path):  # fmt: skip
    """The build process is killed (SIGKILL) after two committed chunks of 4 files; run
    again, it ends with the same tracks, scores, segments and vectors."""
    index_file = tmp_path / "killed.sqlite"
    script = textwrap.dedent(f"""
        import os, signal
        from filmgenre.library.ingest import build
        def stop(done):
            if done >= 8:
                os.kill(os.getpid(), signal.SIGKILL)
        build({str(library_folder)!r}, {str(index_file)!r}, {str(model_dir)!r}, chunk=4,
              progress=False, on_chunk=stop)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "FILMGENRE_ROOT": str(project_root())},
                          timeout=600)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    con = store.connect(index_file)
    committed = con.execute("SELECT COUNT(*) FROM tracks WHERE status = 'ok'").fetchone()[0]
    assert 0 < committed < 13  # two chunks of 4 files committed (the broken MP3 among them)
    assert build_line(con) == ("build interrupted: 8 of 14 file(s) done, 6 still to do; "
                                   "run `filmgenre index build` again to resume")
    from filmgenre.library.ingest import build

    resumed = build(library_folder, index_file, model_dir, progress=False)
    assert resumed.added == 13 - committed and resumed.unchanged == committed + 1  # + broken

    def content(path: Path) -> tuple:
        c = store.connect(path)
        tracks = sorted(c.execute(
            "SELECT path, status, reason, digest, title, duration, scores FROM tracks"))
        segs = sorted(c.execute("SELECT t.path, s.idx, s.start, s.end, s.scores FROM segments s "
                                "JOIN tracks t ON t.id = s.track_id"))  # fmt: skip
        vectors = dict(c.execute("SELECT path, vector FROM tracks WHERE status = 'ok'"))
        return tracks, segs, vectors

    a_tracks, a_segs, a_vectors = content(index_file)
    b_tracks, b_segs, b_vectors = content(built)
    assert a_tracks == b_tracks and a_segs == b_segs
    from filmgenre.data.features import file_digest

    stored = {path: digest for path, status, _, digest, *_ in a_tracks if status == "ok"}
    assert stored and all(d == file_digest(library_folder / p) for p, d in stored.items())
    for path, vector in b_vectors.items():
        np.testing.assert_allclose(np.frombuffer(a_vectors[path], np.float32),
                                   np.frombuffer(vector, np.float32), atol=1e-4)  # fmt: skip


@pytest.mark.slow
def test_an_update_hashes_each_new_or_touched_file_once(built, library_folder, model_dir,
                                                        tmp_path, monkeypatch):  # fmt: skip
    """A file whose mtime changed is hashed once (by extraction, whose cache it names), and
    only its size and mtime are rewritten when its bytes are the same; a new file is hashed
    once too; unchanged files are not read at all."""
    from filmgenre.data import features
    from filmgenre.library.ingest import build

    folder = tmp_path / "music"
    shutil.copytree(library_folder, folder, symlinks=True)
    index_file = tmp_path / "lib.sqlite"
    build(folder, index_file, model_dir, n_jobs=1, progress=False)
    wavs = sorted(folder.rglob("*.wav"))
    os.utime(wavs[0], (2e9, 2e9))
    shutil.copy(wavs[1], folder / "album2" / "a copy under a new name.wav")
    hashed: list[str] = []
    real_digest = features.file_digest
    monkeypatch.setattr(features, "file_digest", lambda p, *a: hashed.append(Path(p).name)
                        or real_digest(p, *a))  # fmt: skip
    report = build(folder, index_file, model_dir, n_jobs=1, progress=False)
    assert sorted(hashed) == sorted([wavs[0].name, "a copy under a new name.wav"]), hashed
    assert report.redone == report.rescored == 0 and report.unchanged == 14, report
    row = store.connect(index_file).execute("SELECT mtime FROM tracks WHERE path = ?",
                                          (str(wavs[0].relative_to(folder)),)).fetchone()
    assert row[0] == 2e9


def test_the_query_language():
    assert parse_mix("Romance Comedy -Thriller") == {"Romance": 1, "Comedy": 1,
                                                            "Thriller": -1}  # fmt: skip
    assert parse_mix("Romance=1,Comedy=0.5,Thriller=-1") == {
        "Romance": 1.0, "Comedy": 0.5, "Thriller": -1.0}  # fmt: skip
    assert parse_mix("sci-fi -drama") == {"Sci-Fi": 1, "Drama": -1}
    assert parse_mix("SciFi, Science Fiction") == {"Sci-Fi": 2}
    for bad, words in (("Romance Western", "'Western'"), ("Romance=lots", "not a number"),
                       ("Romance=1,Comedy", "give every term a weight"),
                       ("Drama -Drama", "cancel out"), ("Drama=nan", "finite")):  # fmt: skip
        with pytest.raises(QueryError, match=words):
            parse_mix(bad)
    with pytest.raises(QueryError, match="valid genres: Action"):
        parse_mix("Western")
    assert parse_range("90-120", "tempo") == (90.0, 120.0)
    assert parse_range("-120", "tempo") == (None, 120.0)
    with pytest.raises(QueryError, match="low end is above"):
        parse_range("120-90", "tempo")


def test_fit_rewards_wanted_genres_and_penalises_unwanted_ones():
    genres = ("A", "B", "C")
    scores = np.array([[0.9, 0.8, 0.1], [0.9, 0.8, 0.9], [0.2, 0.2, 0.1], [0.9, 0.1, 0.1]])
    fit = search.mix_fit(scores, {"A": 1, "B": 1, "C": -1}, genres)
    assert list(np.argsort(-fit)) == [0, 1, 3, 2] or fit[0] == fit.max()
    assert fit[0] > fit[1]  # the unwanted genre costs
    assert fit[0] > fit[3]  # a track must fit every wanted genre, not one
    # weights: B counts half as much
    half = search.mix_fit(scores, {"A": 1, "B": 0.5}, genres)
    assert half[3] > search.mix_fit(scores, {"A": 1, "B": 1}, genres)[3]


@pytest.mark.slow
def test_search_ranks_filters_and_names_the_best_segment(built):
    con = store.connect(built)
    snap = idx.snapshot(con)
    hits = search.run(con, snap, {"Drama": 1, "Thriller": -1}, top=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))
    for h in hits:
        start, end = h.segment
        assert 0 <= start < end <= h.fields["duration"] + 0.01
    long = search.run(con, snap, {"Drama": 1}, filters=search.Filters(min_duration=30), top=5)
    assert [h.fields["path"] for h in long] == ["album0/long theme.flac"]
    first = hits[0].id
    like = search.run(con, snap, None, snap.vectors[snap.rows(np.array([first]))[0]],
                      filters=search.Filters(exclude={first}), top=3)  # fmt: skip
    assert first not in [h.id for h in like] and like[0].similarity <= 1.0
    both = search.run(con, snap, {"Drama": 1}, snap.vectors[0], top=3)
    assert both[0].fit is not None and both[0].similarity is not None
    with pytest.raises(QueryError, match="nothing to search by"):
        search.run(con, snap, None, None)


@pytest.mark.slow
def test_genre_mix_search_from_the_command_line_loads_no_model(built):
    """The CLI answers a mix from the index alone: TensorFlow and Keras are never imported."""
    script = textwrap.dedent(f"""
        import sys
        from filmgenre.cli import main
        code = main(["search", "Romance Comedy -Thriller", "--index", {str(built)!r},
                     "--format", "json", "--top", "3"])
        heavy = [m for m in ("tensorflow", "keras", "librosa", "pandas") if m in sys.modules]
        print("HEAVY", heavy, file=sys.stderr)
        sys.exit(code or (3 if heavy else 0))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "HEAVY []" in done.stderr
    result = json.loads(done.stdout)
    assert len(result["results"]) == 3 and result["model"]["outputs"]
    hit = result["results"][0]
    assert {"segment_start", "segment_end", "title", "Romance", "fit"} <= set(hit)


def test_unusable_index_files_get_a_clear_error_not_a_traceback(tmp_path):

    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(os.urandom(4096))
    plain = tmp_path / "other.sqlite"
    sqlite3.connect(plain).execute("CREATE TABLE x (y)").connection.commit()
    for path, words in ((tmp_path / "missing.sqlite", "no such index file"),
                        (corrupt, "not a filmgenre index"),
                        (plain, "not a filmgenre index")):  # fmt: skip
        with pytest.raises(store.IndexFileError, match=words):
            store.connect(path)
    done = subprocess.run([sys.executable, "-m", "filmgenre", "search", "Drama", "--index",
                           str(corrupt)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "not a filmgenre index" in done.stderr and str(corrupt) in done.stderr


def test_a_locked_index_says_so(tmp_path):
    path = tmp_path / "locked.sqlite"
    store.connect(path, create=True).close()
    holder = sqlite3.connect(path)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO meta VALUES ('x', '1')")
    try:
        with pytest.raises(store.IndexFileError, match="locked"):
            store.connect(path, timeout=0.2)
    finally:
        holder.rollback()
        holder.close()


@pytest.fixture(scope="session")
def client(built):
    from starlette.testclient import TestClient

    from filmgenre.library.server import create_app

    with TestClient(create_app(built)) as c:
        yield c


@pytest.mark.slow
def test_page_api_answers_searches_and_malformed_queries_in_words(client):
    page = client.get("/")
    assert page.status_code == 200 and "<script>" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # works offline
    info = client.get("/api/info").json()
    assert info["genres"] == list(GENRES) and info["tracks"] == 13
    found = client.get("/api/search", params={"q": "Romance Comedy -Thriller", "top": 4})
    assert found.status_code == 200 and len(found.json()["results"]) == 4
    like = client.get("/api/search", params={"like": found.json()["results"][0]["id"]}).json()
    assert found.json()["results"][0]["id"] not in [h["id"] for h in like["results"]]
    for params, words in (({"q": "xqzvw"}, "unknown word"),
                          ({"q": "Drama=x"}, "not a number"),
                          ({"q": "Drama", "top": "many"}, "not a whole number"),
                          ({"q": "Drama", "tempo": "fast"}, "give a range"),
                          ({"like": "999999"}, "no such track"),
                          ({}, "nothing to search by")):  # fmt: skip
        bad = client.get("/api/search", params=params)
        assert bad.status_code == 400 and words in bad.json()["error"], (params, bad.text)


@pytest.mark.slow
def test_audio_is_served_by_id_with_range_requests(client, built):
    con = store.connect(built)
    tid = con.execute("SELECT id FROM tracks WHERE path = 'album0/long theme.flac'").fetchone()[0]
    whole = client.get(f"/audio/{tid}")
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    part = client.get(f"/audio/{tid}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.content == whole.content[100:200]
    assert part.headers["content-range"].startswith("bytes 100-199/")


@pytest.mark.slow
def test_no_url_reaches_a_file_the_index_does_not_list(client, built, library_folder, tmp_path):
    """Path traversal in every form, absolute paths, ids of skipped files and of a link
    that leads outside: none is answered with a file."""
    secret = Path(os.readlink(library_folder / "album2" / "link-out.wav"))
    marker = secret.read_bytes()[:64]
    con = store.connect(built)
    skipped_ids = [i for (i,) in con.execute("SELECT id FROM tracks WHERE status = 'skipped'")]
    attempts = ["/audio/../../../../etc/passwd", "/audio/..%2f..%2f..%2fetc%2fpasswd",
                "/audio/%2e%2e/%2e%2e/etc/passwd", "/audio/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                "/audio//etc/passwd", f"/audio/{secret}", "/audio/1/../../etc/passwd",
                "/%2e%2e/%2e%2e/etc/passwd", "/audio/album2%2flink-out.wav",
                "/audio/-1", "/audio/99999999", "/api/../etc/passwd",
                *[f"/audio/{i}" for i in skipped_ids]]  # fmt: skip
    for url in attempts:
        answer = client.get(url)
        assert answer.status_code in (400, 404, 405), (url, answer.status_code)
        assert b"root:" not in answer.content and marker not in answer.content, url
    # even an index row pointing at the outside link (a tampered index) is not served
    tampered = _copy_index(built, tmp_path)
    c = sqlite3.connect(tampered)
    c.execute("UPDATE tracks SET status = 'ok', reason = NULL, scores = ? "
              "WHERE path = 'album2/link-out.wav'",
              (np.zeros(len(GENRES), np.float32).tobytes(),))  # fmt: skip
    c.commit()
    tid = c.execute("SELECT id FROM tracks WHERE path = 'album2/link-out.wav'").fetchone()[0]
    assert store.library_path(store.connect(tampered), tid) is None


@pytest.mark.slow
def test_an_uploaded_reference_is_featurised_and_searched_by(client, library_folder):
    """The page's "like a reference track": an outside file is featurised on the fly with
    the index's model; its token then ranks the library; bad uploads answer 400 in words."""
    reference = sorted(library_folder.rglob("*.wav"))[2]
    sent = client.post("/api/reference", files={"file": ("mine.wav", reference.read_bytes(),
                                                         "audio/wav")})  # fmt: skip
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert set(body["genres"]) == set(GENRES) and body["name"] == "mine.wav"
    found = client.get("/api/search", params={"ref": body["ref"], "top": 3}).json()["results"]
    # the same audio is in the library: it comes first, as alike as a track can be
    assert found[0]["path"].endswith(reference.name) and found[0]["similarity"] > 0.99
    bad = client.post("/api/reference", files={"file": ("notes.mp3", b"not audio" * 100,
                                                        "audio/mpeg")})  # fmt: skip
    assert bad.status_code == 400 and "notes.mp3" in bad.json()["error"]
    empty = client.post("/api/reference", files={"file": ("empty.wav", b"", "audio/wav")})
    assert empty.status_code == 400 and "empty" in empty.json()["error"]
    assert client.get("/api/search", params={"ref": "nope"}).status_code == 400


@pytest.mark.slow
def test_uploads_past_the_limit_answer_413_and_errors_name_the_uploaded_file(client):
    """The 64 MiB limit holds on the stream (with or without a declared length), and a
    decoder's message names the file the user sent, never the server's temporary copy."""
    import tempfile

    from filmgenre.library.server.routes import MAX_UPLOAD_BYTES

    big = b"\0" * (70 * 1024 * 1024)
    sent = client.post("/api/reference", files={"file": ("huge.wav", big, "audio/wav")})
    assert sent.status_code == 413 and "64 MiB" in sent.json()["error"], sent.text

    def body():  # no Content-Length: the server counts what arrives
        boundary = b"--xyz\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="s.wav"\r\n\r\n'
        for _ in range(MAX_UPLOAD_BYTES // (1 << 20) + 4):
            yield b"\0" * (1 << 20)
        yield b"\r\n--xyz--\r\n"

    streamed = client.post("/api/reference", content=body(),
                           headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert streamed.status_code == 413 and "limit" in streamed.json()["error"]
    bad = client.post("/api/reference", files={"file": ("clip.m4a", b"\0\0\0\x18ftypM4A " +
                                                        bytes(300), "audio/mp4")})  # fmt: skip
    message = bad.json()["error"]
    assert bad.status_code == 400 and message.startswith("clip.m4a: "), message
    assert tempfile.gettempdir() not in message and "reference.m4a" not in message, message


@pytest.mark.slow
def test_building_and_tagging_with_a_cue_vector_model_start_no_framework(built, model_dir,
                                                                          tmp_path):  # fmt: skip
    """The shipped genre head runs with NumPy and musicnn through OpenVINO on a CPU: an index
    build and ``tag`` of audio never heard before import neither TensorFlow, Keras nor JAX
    (musicnn's weights already cached as .npz, as any earlier build leaves them)."""
    from filmgenre.models import musicnn

    for checkpoint in ("MTT_musicnn", "MSD_musicnn"):
        musicnn.read_checkpoint(checkpoint)
    folder = tmp_path / "new"
    _flac_with_tags(folder / "new theme.flac", 9.0, 330.0, title="New Theme")
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from filmgenre.library.ingest import build
        from filmgenre.predict import tag_files
        report = build(Path({str(folder)!r}), Path({str(tmp_path / "i.sqlite")!r}),
                       Path({str(model_dir)!r}), progress=False)
        table, skipped = tag_files([Path({str(folder / "new theme.flac")!r})],
                                   {str(model_dir)!r}, progress=False)
        heavy = [m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules]
        print("RESULT", report.added, table.shape, len(skipped), heavy)
    """)
    env = {**os.environ, "FILMGENRE_MUSICNN_ENGINE": "auto", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RESULT 1 (1, 10) 0 []" in done.stdout, done.stdout + done.stderr[-2000:]
