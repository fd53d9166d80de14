"""The genre vocabulary, the one owner of genre names: the study's ten genres, the other
spellings a genre may be written in, and reading genre names from a film table's labels or
a word of a query.

Two kinds of alias, one table each: :data:`SPELLINGS` are the same name written otherwise
(``SciFi``, ``Science Fiction``, plurals) and are read wherever a genre is named;
:data:`LABEL_SYNONYMS` are neighbouring labels a film table may use for a genre (IMDB's
*Music* for Musical) and are read in labels only, because in a query those words mean
something else (``music`` says nothing, ``romantic`` is a mood as much as a genre: the
thesaurus reads them).
"""

from __future__ import annotations

import math
import re

#: The ten IMDB genres of the original study, in its output order.
GENRES: tuple[str, ...] = (
    "Action",
    "Adventure",
    "Comedy",
    "Crime",
    "Drama",
    "Fantasy",
    "Musical",
    "Romance",
    "Sci-Fi",
    "Thriller",
)

#: other spellings of a genre's name (lower case, letters and digits only)
SPELLINGS = {"scifi": "Sci-Fi", "sciencefiction": "Sci-Fi", "sf": "Sci-Fi",
             "comedies": "Comedy", "comedic": "Comedy", "dramas": "Drama",
             "musicals": "Musical", "thrillers": "Thriller"}  # fmt: skip
#: neighbouring labels a film table may give a genre (read in labels only)
LABEL_SYNONYMS = {"music": "Musical", "romantic": "Romance"}


def squash(name: str) -> str:
    """A name as genre names are compared: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def genre_of(word: str, genres: tuple[str, ...] = GENRES, labels: bool = False) -> str | None:
    """The genre of ``genres`` a word names (any case and spacing, or another spelling;
    ``labels``: a film table's neighbouring labels too), or None."""
    key = squash(word)
    for genre in genres:
        if squash(genre) == key:
            return genre
    alias = SPELLINGS.get(key) or (LABEL_SYNONYMS.get(key) if labels else None)
    return alias if alias in genres else None


def canonical(name: str, genres: tuple[str, ...] = GENRES) -> str:
    """A label's genre as ``genres`` spell it, or the label itself, trimmed, when it names
    none of them."""
    return genre_of(name, genres, labels=True) or name.strip()


def split_labels(text: object, genres: tuple[str, ...] = GENRES) -> tuple[list[str], list[str]]:
    """An IMDB-style genre string (``"Action, Sci-Fi"``, ``"Drama|Romance"``, or a list)
    read as (the genres it names, in ``genres`` order; the other names, sorted)."""
    if isinstance(text, list | tuple):
        parts = [str(p) for p in text]
    elif text is None or (isinstance(text, float) and math.isnan(text)):
        parts = []
    else:
        parts = re.split(r"[,|;/]", str(text))
    found = {canonical(p, genres) for p in parts if p.strip()}
    return [g for g in genres if g in found], sorted(found - set(genres))
