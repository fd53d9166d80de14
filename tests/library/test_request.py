"""One search request for the command line and the page: built from the same names,
validated once, the same message in both front ends."""

from __future__ import annotations

import pytest
from conftest import run_cli

from filmgenre.library.query import QueryError
from filmgenre.library.request import MAX_TOP, SearchRequest

#: (command-line options, query string, the message both give)
BAD = [
    (["--top", "0"], {"top": "0"}, f"top must be between 1 and {MAX_TOP}"),
    (["--tempo", "fast"], {"tempo": "fast"}, "tempo 'fast': give a range"),
    (["--duration", "90-30"], {"duration": "90-30"}, "the low end is above the high end"),
    (["--key", "Zb"], {"key": "Zb"}, "key 'Zb': give a key"),
    (["--like", "999999"], {"like": "999999"}, "no such track"),
]


def test_a_request_reads_every_name_and_takes_defaults_for_the_rest():
    request = SearchRequest.from_mapping({"q": " calm piano ", "tempo": "90-", "key": "A minor",
                                          "folder": "", "top": "7", "ranking": "rank"})
    assert request.query == "calm piano" and request.tempo == (90.0, None)
    assert (request.key, request.mode) == (9, "minor") and request.folder is None
    assert (request.top, request.ranking) == (7, "rank")
    assert SearchRequest.from_mapping({}) == SearchRequest()
    assert SearchRequest.from_mapping({"key": "C", "mode": "minor"}).mode == "minor"


@pytest.mark.parametrize("params, words", [
    ({"top": "many"}, "not a whole number"), ({"top": str(MAX_TOP + 1)}, "between 1 and"),
    ({"mode": "dorian"}, "major or minor"), ({"ranking": "best"}, "choose one of fit"),
    ({"duration": "long"}, "give a range")])  # fmt: skip
def test_a_bad_value_is_refused_with_what_is_wrong(params, words):
    with pytest.raises(QueryError, match=words):
        SearchRequest.from_mapping(params)


@pytest.mark.slow
def test_the_command_line_and_the_page_refuse_alike(built):
    from starlette.testclient import TestClient

    from filmgenre.library.server import create_app

    with TestClient(create_app(built)) as page:
        for options, params, words in BAD:
            answer = page.get("/api/search", params={"q": "Drama", **params})
            assert answer.status_code == 400, params
            said = run_cli("search", "Drama", "--index", str(built), *options)
            assert said.returncode == 1, options
            assert words in answer.json()["error"], (params, answer.text)
            assert said.stderr.strip() == f"filmgenre search: {answer.json()['error']}", options
        track = page.get("/api/search", params={"q": "Drama", "top": 1}).json()["results"][0]
        by_path = page.get("/api/search", params={"like": track["path"], "top": 3}).json()
        by_id = page.get("/api/search", params={"like": str(track["id"]), "top": 3}).json()
        assert by_path["results"] == by_id["results"]  # one lookup: an id or a path
