"""The words of a brief: the thesaurus file is checked against what an index knows, every
word of it is read as its mapping, unknown words get suggestions by spelling and meaning."""

from __future__ import annotations

import pytest

from filmgenre.data.moods import MOODS
from filmgenre.genres import GENRES
from filmgenre.library import thesaurus, vocabulary
from filmgenre.library.query import QueryError, parse_query


def test_the_thesaurus_has_the_words_of_briefs_each_mapped_and_explained():
    th = thesaurus.default()
    assert len(th.by_word) >= 300
    for word in ("calm", "peaceful", "relaxed", "tense", "suspense", "suspenseful", "anxious",
                 "sad", "melancholic", "mournful", "joyful", "happy", "uplifting", "cheerful",
                 "powerful", "epic", "heroic", "triumphant", "tender", "romantic", "intimate",
                 "nostalgic", "wistful", "solemn", "majestic", "sacred", "wonder", "magical",
                 "mysterious", "dark", "bright", "gloomy", "energetic", "intense", "soft",
                 "horror", "western", "war", "mystery", "animation", "family", "biography"):
        entry = th.by_word.get(word)
        assert entry is not None, word
        assert entry.means and entry.maps, word
    kinds = {t.kind for e in th.by_word.values() for t, _ in e.maps}
    assert kinds == {"genre", "mood", "tag"}  # the thesaurus reaches everything an index knows
    named = {t.name for e in th.by_word.values() for t, _ in e.maps if t.kind == "mood"}
    assert named == set(MOODS)  # every mood is reachable from the words of a brief


def test_every_word_is_read_as_its_mapping_scaled_to_one_word():
    for word, entry in thesaurus.default().by_word.items():
        mix = parse_query(word, GENRES)
        total = sum(abs(w) for w in (*mix.genres.values(), *mix.moods.values(),
                                     *mix.words.values()))  # fmt: skip
        assert abs(total - 1) < 1e-9, word  # one word weighs one, whatever its mapping
        names = {*mix.genres, *mix.moods, *mix.words}
        assert names == {t.name for t, _ in entry.maps}, word


def test_a_brief_mixes_moods_genres_and_tagger_words_with_weights_and_negatives():
    mix = parse_query("calm piano -vocals", GENRES)
    assert mix.moods == {"calmness": 1.0} and mix.words == {"piano": 1.0, "vocals": -1.0}
    mix = parse_query("tense strings -happy", GENRES)
    assert mix.moods == {"tension": 1.0, "joyful_activation": -1.0}
    mix = parse_query("dark Thriller", GENRES)
    assert mix.moods == {"valence": -1.0} and mix.genres == {"Thriller": 1.0}
    mix = parse_query("calm=2,Horror=-0.5", GENRES)  # weights on mood words too
    assert mix.moods["calmness"] == 2.0 and mix.moods["tension"] == pytest.approx(-0.2)
    assert mix.genres == {"Thriller": pytest.approx(-0.1)}
    mix = parse_query("a calm track with piano under dialogue", GENRES)
    assert mix.ignored == ["a", "track", "with"] and "under dialogue" in mix.explain()
    assert mix.explain().startswith("calm = calmness; piano = tag piano")
    # the tagger's own word stays reachable where the thesaurus uses it
    assert parse_query("tag:happy", GENRES).words == {"happy": 1.0}
    assert parse_query("joyful activation", GENRES).moods == {"joyful_activation": 1.0}


def test_a_word_naming_a_genre_the_index_lacks_answers_with_the_rest_and_says_so():
    other = ("calmness", "power", "tension")  # an index of a model of emotify's tags
    mix = parse_query("horror", other)
    assert mix.genres == {} and set(mix.moods) == {"tension", "valence"}
    assert "Thriller: not a genre of this index" in mix.explain()
    with pytest.raises(QueryError, match="'romcom' stands for Romance=1, Comedy=1"):
        parse_query("romcom", other)


def test_unknown_words_get_suggestions_by_spelling_stem_and_meaning():
    with pytest.raises(QueryError) as found:
        parse_query("frightened strings", GENRES)
    message = str(found.value)
    assert "did you mean 'frightening'" in message  # by stem
    assert "same meaning: scary" in message  # the entry's and group's other words
    with pytest.raises(QueryError, match=r"'calmm' \(did you mean 'calm'"):
        parse_query("calmm", GENRES)
    with pytest.raises(QueryError, match="nothing to search by: 'the', 'music'"):
        parse_query("the music", GENRES)
    assert "dark" in thesaurus.by_meaning(["ominous"])  # a related group


def test_a_bad_thesaurus_entry_fails_with_what_is_wrong(tmp_path):
    good = '[groups]\ncalm = { means = "calm", related = [] }\n'
    cases = {
        'maps = "calmness=1, brass=1"': "'brass=1' names nothing the index knows",
        'maps = "Horrorr=1"': "names nothing the index knows",
        'maps = "calmness=x"': "the weight is not a number",
        'maps = "calmness=0"': "a weight of 0",
    }
    for maps, expected in cases.items():
        path = tmp_path / "bad.toml"
        path.write_text(good + f'[[entry]]\ngroup = "calm"\n{maps}\nmeans = "m"\n'
                        'words = ["serene"]\n')  # fmt: skip
        with pytest.raises(thesaurus.ThesaurusError, match=expected):
            thesaurus.load(path)
    for words, expected in (('["Drama"]', "is the genre Drama"),
                            ('["calmness"]', "is the mood calmness"),
                            ('["piano"]', "hides the tagger's word 'piano'"),
                            ('["serene", "serene"]', "listed twice")):  # fmt: skip
        path = tmp_path / "bad.toml"
        path.write_text(good + f'[[entry]]\ngroup = "calm"\nmaps = "calmness=1"\nmeans = "m"\n'
                        f"words = {words}\n")  # fmt: skip
        with pytest.raises(thesaurus.ThesaurusError, match=expected):
            thesaurus.load(path)
    path.write_text(good + '[[entry]]\ngroup = "nope"\nmaps = "calmness=1"\nmeans = "m"\n'
                    'words = ["serene"]\n')  # fmt: skip
    with pytest.raises(thesaurus.ThesaurusError, match="group 'nope'"):
        thesaurus.load(path)


def test_the_vocabulary_lists_every_word_with_its_source_and_meaning():
    rows = thesaurus.vocabulary_table(GENRES)
    words = [r["word"] for r in rows]
    assert len(words) == len(set(words))
    assert {"Drama", "calmness", "valence", "calm", "horror", "piano", "tag:happy"} <= set(words)
    assert all(r["source"] and r["means"] for r in rows)
    sources = {r["word"]: r["source"] for r in rows}
    assert sources["calm"] == "thesaurus (calm)" and "mood model" in sources["valence"]
    assert vocabulary.find("happy") is not None  # the tagger word itself still exists
