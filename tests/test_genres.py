"""The genre vocabulary: one reading of genre names for film labels, queries and tagging."""

from __future__ import annotations

import pytest

from filmgenre import genres
from filmgenre.data import dataset
from filmgenre.genres import GENRES
from filmgenre.library.query import QueryError, parse_query


@pytest.mark.parametrize(
    "text, known, unknown",
    [
        ("Action, Adventure, Sci-Fi", ["Action", "Adventure", "Sci-Fi"], []),
        ("  action,ADVENTURE ,SciFi", ["Action", "Adventure", "Sci-Fi"], []),
        ("Science Fiction|Romance", ["Romance", "Sci-Fi"], []),
        ("Drama, Horror", ["Drama"], ["Horror"]),
        ("Music; comedies", ["Comedy", "Musical"], []),  # IMDB's Music, a plural
        ("", [], []),
    ],
)
def test_film_labels_are_read_as_the_genres_they_name(text, known, unknown):
    assert genres.split_labels(text) == (known, unknown)


@pytest.mark.parametrize("word, genre", [("sci fi", "Sci-Fi"), ("Science Fiction", "Sci-Fi"),
                                         ("SF", "Sci-Fi"), ("comedic", "Comedy"),
                                         ("THRILLERS", "Thriller"), ("horror", None)])
def test_a_spelling_is_read_the_same_in_labels_and_in_queries(word, genre):
    assert genres.genre_of(word) == genre
    assert genres.genre_of(word, labels=True) == genre
    if genre is not None:
        assert parse_query(word, GENRES, words=False).genres == {genre: 1.0}
    else:
        with pytest.raises(QueryError, match="unknown genre"):
            parse_query(word, GENRES, words=False)


def test_label_synonyms_are_labels_only():
    """'music' is a film table's Musical, but in a brief it says nothing; 'romantic' is
    the thesaurus's (a genre and a mood)."""
    assert genres.genre_of("Music", labels=True) == "Musical"
    assert genres.genre_of("Music") is None
    assert genres.canonical("Romantic") == "Romance"
    assert "Romance" in parse_query("romantic", GENRES).genres
    assert parse_query("romantic", GENRES).moods  # tenderness, as the thesaurus maps it


def test_a_genre_outside_the_list_keeps_its_spelling():
    assert genres.canonical("  Film-Noir ") == "Film-Noir"
    assert genres.genre_of("Action", ("Comedy", "Drama")) is None


def test_the_dataset_reads_labels_through_the_vocabulary():
    assert dataset.split_labels is genres.split_labels
