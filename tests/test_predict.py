"""Genre-mix queries for `filmgenre search`."""

from __future__ import annotations

import pytest

from filmgenre.config import GENRES
from filmgenre.predict import parse_genre_query


@pytest.mark.parametrize(
    "query, expected",
    [
        ("Romance Comedy Action", ["Romance", "Comedy", "Action"]),
        ("Romantic-Comedy-Action", ["Romance", "Comedy", "Action"]),
        ("sci-fi, thriller", ["Sci-Fi", "Thriller"]),
        ("Science Fiction", None),  # two words: "Science" and "Fiction" are not genres
        ("drama drama", ["Drama"]),
    ],
)
def test_parse_genre_query(query, expected):
    if expected is None:
        with pytest.raises(ValueError, match="valid genres: Action, Adventure"):
            parse_genre_query(query, GENRES)
    else:
        assert parse_genre_query(query, GENRES) == expected


def test_unknown_genre_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown genre\(s\) \['Horror'\].*Sci-Fi, Thriller"):
        parse_genre_query("Romance Horror", GENRES)
