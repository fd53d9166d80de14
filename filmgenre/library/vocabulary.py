"""The words a query may use beyond film genres: the pretrained musicnn taggers' own tags
(MagnaTagATune's 50: instruments, voice, tempo, loudness, styles; the Million Song
Dataset's 50: moods, genres, decades), merged where they mean one thing.

Every word of :func:`words` answers from one or more tag columns (the mean of them):
equivalent tags answer together (``vocals`` = MTT vocal, vocals, singing, voice; ``no
vocals`` = MTT no vocal, no vocals, no voice; ``female`` = MTT female, woman, female
vocal, female voice and MSD female vocalists, female vocalist; ...); a word both taggers
know (rock, pop, electronic, ambient, guitar, country, metal, dance) is the mean of the
two, and ``rock:mtt`` / ``rock:msd`` ask one of them. The taggers are not calibrated like
the genre model: their outputs are sigmoid activations trained on other music (a
``piano`` of 0.3 is not a 30% chance), so a query ranks every tag term by the track's
rank in the library for that word (0..1, the same spread for every word) and never
compares a tag's raw value with a genre's probability.

Model-free, with no imports beyond the standard library: the search path reads it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..data.tags import MSD_LABELS, MTT_LABELS

#: pitch classes, as a key estimate names its tonic
PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

#: the tag columns an index stores per track and segment, in this order
TAG_COLUMNS: tuple[str, ...] = tuple(f"mtt:{t}" for t in MTT_LABELS) + tuple(
    f"msd:{t}" for t in MSD_LABELS)

#: words answered by several columns (tags that mean one thing)
_GROUPS: dict[str, tuple[str, ...]] = {
    "vocals": ("mtt:vocal", "mtt:vocals", "mtt:singing", "mtt:voice"),
    "no vocals": ("mtt:no vocal", "mtt:no vocals", "mtt:no voice"),
    "female": ("mtt:female", "mtt:woman", "mtt:female vocal", "mtt:female voice",
               "msd:female vocalists", "msd:female vocalist"),
    "male": ("mtt:male", "mtt:man", "mtt:male vocal", "mtt:male voice", "msd:male vocalists"),
    "choir": ("mtt:choir", "mtt:choral"),
    "beats": ("mtt:beat", "mtt:beats"),
    "classical": ("mtt:classical", "mtt:classic"),
    "chill": ("msd:chill", "msd:chillout"),
    "electronic": ("mtt:electronic", "msd:electronic", "msd:electronica", "msd:electro"),
    "metal": ("mtt:metal", "msd:metal", "msd:heavy metal"),
}
#: other spellings people type, to the word they mean
_ALIASES = {"vocal": "vocals", "singing": "vocals", "voice": "vocals", "voices": "vocals",
            "sung": "vocals", "no vocal": "no vocals", "no voice": "no vocals",
            "instrumental only": "no vocals", "without vocals": "no vocals",
            "woman": "female", "female vocal": "female", "female voice": "female",
            "female vocals": "female", "female vocalist": "female",
            "female vocalists": "female", "man": "male", "male vocal": "male",
            "male voice": "male", "male vocals": "male", "male vocalists": "male",
            "choral": "choir", "beat": "beats", "classic": "classical", "chillout": "chill",
            "electronica": "electronic", "electro": "electronic", "heavy metal": "metal",
            "hip hop": "hip-hop", "hiphop": "hip-hop", "r&b": "rnb",
            "progressive": "progressive rock",
            "mellow": "mellow", "slow tempo": "slow", "fast tempo": "fast"}  # fmt: skip


@dataclass(frozen=True)
class Word:
    """A word of the vocabulary: the tag columns it averages and where they come from."""

    name: str
    columns: tuple[str, ...]

    @property
    def source(self) -> str:
        models = sorted({c.split(":")[0].upper() for c in self.columns})
        return " + ".join(f"musicnn {m}" for m in models)

    def meaning(self) -> str:
        tags = ", ".join(c.split(":", 1)[1] for c in self.columns)
        return (f"mean of the {self.source} tagger output(s) for {tags}: a sigmoid activation "
                "learned on other music, ranked within the library (not a probability)")


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def words() -> dict[str, Word]:
    """Every word beyond the genres, by name (lower case), qualified forms included."""
    by_name: dict[str, list[str]] = {}
    grouped = {c for cols in _GROUPS.values() for c in cols}
    for column in TAG_COLUMNS:
        if column not in grouped:
            by_name.setdefault(_key(column.split(":", 1)[1]), []).append(column)
    out = {name: Word(name, tuple(cols)) for name, cols in by_name.items()}
    out.update({name: Word(name, cols) for name, cols in _GROUPS.items()})
    for name, word in list(out.items()):  # both taggers: each one by itself, qualified
        models = {c.split(":")[0] for c in word.columns}
        if len(models) > 1:
            for m in sorted(models):
                out[f"{name}:{m}"] = Word(f"{name}:{m}", tuple(c for c in word.columns
                                                              if c.startswith(m)))  # fmt: skip
    return dict(sorted(out.items()))


_WORDS = words()
#: the longest word, in spaces: a query is read greedily, longest phrase first
MAX_WORDS = max(len(name.split()) for name in _WORDS)


def find(text: str) -> Word | None:
    """The word ``text`` names (case and spacing aside, aliases followed), or None."""
    key = _key(text)
    key = _ALIASES.get(key, key)
    return _WORDS.get(key)


def suggest(text: str, genres: tuple[str, ...] = (), n: int = 3) -> list[str]:
    """Close words of the vocabulary (and genres) for an unknown one: "did you mean"."""
    names = list(_WORDS) + list(_ALIASES) + [g.lower() for g in genres]
    found = difflib.get_close_matches(_key(text), names, n=n * 2, cutoff=0.6)
    out = []
    for name in found:
        shown = next((g for g in genres if g.lower() == name), None) or (
            _ALIASES.get(name, name))  # fmt: skip
        if shown not in out:
            out.append(shown)
    return out[:n]


def table(genres: tuple[str, ...] = ()) -> list[dict]:
    """Every word with where it comes from and what its score means (``--vocabulary``)."""
    rows = [{"word": g, "source": "the genre model", "means":
             "calibrated probability that the track is from a film of this genre"}
            for g in genres]  # fmt: skip
    rows += [{"word": w.name, "source": w.source, "means": w.meaning()} for w in _WORDS.values()]
    aliases = {}
    for alias, name in _ALIASES.items():
        if alias != name and name in _WORDS:
            aliases.setdefault(name, []).append(alias)
    for row in rows:
        if row["word"] in aliases:
            row["also"] = ", ".join(sorted(aliases[row["word"]]))
    return rows


def column_indices(word: Word) -> list[int]:
    """Positions of a word's columns in :data:`TAG_COLUMNS`."""
    return [TAG_COLUMNS.index(c) for c in word.columns]


def parse_key(text: str) -> tuple[int | None, str | None]:
    """(tonic, mode) of "A minor", "F# major", "Bb", "c#m", "minor" (mode only) ...; raises
    ValueError naming what it cannot read."""
    flats = {"DB": "C#", "EB": "D#", "GB": "F#", "AB": "G#", "BB": "A#", "CB": "B", "FB": "E"}
    match = re.fullmatch(r"\s*([A-Ga-g])\s*([#b♯♭]?)\s*(major|minor|maj|min|m)?\s*", text or "",
                         flags=re.IGNORECASE)  # fmt: skip
    if match is None:
        mode = (text or "").strip().lower()
        if mode in ("major", "minor"):
            return None, mode
        raise ValueError(f"{text!r}: give a key such as \"A minor\", \"F# major\", \"Bb\" "
                         "or a mode (major, minor)")  # fmt: skip
    name = match.group(1).upper() + {"♯": "#", "♭": "B", "b": "B"}.get(match.group(2),
                                                                         match.group(2))
    name = flats.get(name, name).replace("B#", "C").replace("E#", "F")
    mode = match.group(3)
    mode = None if mode is None else ("major" if mode.lower().startswith("maj") else "minor")
    return PITCHES.index(name), mode
