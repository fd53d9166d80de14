"""Words beyond genres: the query language reads the musicnn taggers' words with weights,
equivalent words answer together, an unknown word gets a "did you mean"; on real
recordings the tags rank what they name first; a rescore keeps them; key and mode filter."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import run_cli

from filmgenre.genres import GENRES
from filmgenre.library import index as idx
from filmgenre.library import search, store, vocabulary
from filmgenre.library.query import QueryError, parse_key, parse_mix, parse_query


def test_one_query_mixes_genres_and_words_with_weights():
    mix = parse_query("Romance piano -vocals -tag:sad", GENRES)
    assert mix.genres == {"Romance": 1.0}
    assert mix.words == {"piano": 1.0, "vocals": -1.0, "sad": -1.0}
    mix = parse_query("Thriller=1,strings=1,loud=0.5,tag:happy=-1", GENRES)
    assert mix.genres == {"Thriller": 1.0} and mix.words == {"strings": 1.0, "loud": 0.5,
                                                             "happy": -1.0}  # fmt: skip
    mix = parse_query("Drama no vocals not tag:sad female vocal easy listening", GENRES)
    assert mix.words == {"no vocals": 1.0, "sad": -1.0, "female": 1.0, "easy listening": 1.0}
    # "sad" and "happy" are words of a brief: the mood model's, not the tagger's
    mix = parse_query("Romance piano -vocals -sad", GENRES)
    assert mix.words == {"piano": 1.0, "vocals": -1.0} and mix.moods == {"sadness": -1.0}


def test_equivalent_words_answer_together_and_shared_words_are_merged_or_qualified():
    for typed in ("vocal", "vocals", "singing", "voice"):
        assert vocabulary.find(typed).name == "vocals"
    for typed in ("no vocal", "no vocals", "no voice"):
        assert vocabulary.find(typed).name == "no vocals"
    for typed in ("female", "woman", "female vocal", "Female Voice"):
        assert vocabulary.find(typed).name == "female"
    rock = vocabulary.find("rock")
    assert set(rock.columns) == {"mtt:rock", "msd:rock"}  # both taggers: their mean
    assert vocabulary.find("rock:msd").columns == ("msd:rock",)
    assert all(c in vocabulary.TAG_COLUMNS for w in vocabulary.words().values() for c in w.columns)
    used = {c for w in vocabulary.words().values() for c in w.columns}
    assert used == set(vocabulary.TAG_COLUMNS)  # every tag answers to some word


def test_bad_words_and_weights_are_named_with_what_would_do():
    with pytest.raises(QueryError, match=r"'pianno' \(did you mean 'piano'\?\)"):
        parse_query("Romance pianno", GENRES)
    with pytest.raises(QueryError, match="'abc' is not a number"):
        parse_query("loud=abc", GENRES)
    with pytest.raises(QueryError, match="unknown genre"):
        parse_mix("Romance piano", GENRES)  # genres only
    assert parse_key("A minor") == (9, "minor") and parse_key("Bb") == (10, None)
    with pytest.raises(QueryError, match="--key 'H dur': give a key"):
        parse_key("H dur")


@pytest.fixture(scope="module")
def tagged(realaudio, model_dir, tmp_path_factory):
    """An index of real recordings whose content is known, 15 s of each (decoded and written
    as WAV, to keep the suite short): a piano ragtime, a string orchestra, a sung song
    (librosa's examples), two classical and two rock clips of emotify."""
    import soundfile as sf

    from filmgenre.data.audio import load_audio
    from filmgenre.library.ingest import build

    folder = tmp_path_factory.mktemp("tagged") / "music"
    folder.mkdir()
    sources = {f"{n.split('_')[0]}.wav": realaudio / "librosa" / n for n in (
        "442789__lena-orsa__happy-music-pistachio-ice-cream-ragtime.ogg",
        "Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra).ogg",
        "Karissa_Hobbs_-_Lets_Go_Fishin.ogg")}  # fmt: skip
    sources.update({f"{g}_{n}.wav": realaudio / "emotify" / g / f"{n}.mp3"
                    for g in ("classical", "rock") for n in (1, 3)})  # fmt: skip
    for name, source in sources.items():
        y = load_audio(source, 22050)
        start = max(0, len(y) // 2 - 7 * 22050)
        sf.write(folder / name, y[start : start + 15 * 22050], 22050, subtype="PCM_16")
    index_file = folder.parent / "tagged.sqlite"
    report = build(folder, index_file, model_dir, n_jobs=2, progress=False)
    assert report.tracks == 7, report
    return folder, index_file


def _top(index_file, query: str, n: int) -> list[str]:
    con = store.connect(index_file)
    snap = idx.snapshot(con)
    return [h.fields["path"] for h in search.run(con, snap, parse_query(query,
                                                                               snap.genres),
                                                  top=n)]  # fmt: skip


@pytest.mark.slow
def test_tags_on_real_recordings_rank_what_they_name_first(tagged):
    _, index_file = tagged
    assert _top(index_file, "piano", 2)[0] == "442789.wav"
    assert _top(index_file, "strings", 1)[0] == "Hungarian.wav"
    assert {p.split("_")[0] for p in _top(index_file, "rock guitar -classical", 2)} == {"rock"}
    assert not [p for p in _top(index_file, "classical -vocals", 3) if p.startswith("rock")]
    sung = _top(index_file, "vocals", 3)
    assert not [p for p in sung if p.startswith(("classical", "Hungarian", "442789"))], sung
    assert "Karissa.wav" in sung
    mixed = _top(index_file, "Romance piano -vocals -sad", 3)
    assert not [p for p in mixed if p.startswith("rock")], mixed


@pytest.mark.slow
def test_piano_and_strings_among_filmscore_cues(realaudio, model_dir, tmp_path):
    """Four real film cues as they are (15 s MP3s): two solo piano pieces (Maniac's "haunted
    piano", Spotlight's Howard Shore cue) and two string pieces (Anna Karenina, The Power of
    the Dog): each word ranks its own pair first."""
    from filmgenre.library.ingest import build

    films = realaudio / "filmscore"
    cues = {"piano": ["maniac/rob_robin_cauderthaunted_piano_maniac_sample_1.mp3",
                      "spotlight/Spotlight_Howard_Shore_sample_1.mp3"],
            "strings": ["anna_karenina/anna_karenina_toolate_dario_marianelli_sample_1.mp3",
                        "the_power_of_the_dog/West_Jonny_Greenwood_The_Power_of_the_Dog_sample_1"
                        ".mp3"]}  # fmt: skip
    folder = tmp_path / "music"
    for rel in (c for pair in cues.values() for c in pair):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(films / rel, folder / rel)
    index_file = tmp_path / "films.sqlite"
    assert build(folder, index_file, model_dir, progress=False).tracks == 4
    for word, pair in cues.items():
        assert sorted(_top(index_file, word, 2)) == sorted(pair), word


@pytest.mark.slow
def test_tags_keys_and_segments_are_stored_and_a_rescore_keeps_the_tags(tagged, tiny_manifest,
                                                                        tmp_path):  # fmt: skip
    from filmgenre.evaluation.crossval import final, vectors
    from filmgenre.library.ingest import build

    folder, index_file = tagged
    con = store.connect(index_file)
    rows = dict(con.execute("SELECT path, tags FROM tracks WHERE status = 'ok'"))
    assert all(len(np.frombuffer(t, np.float32)) == store.TAG_COUNT for t in rows.values())
    assert con.execute("SELECT COUNT(*) FROM segments WHERE tags IS NULL").fetchone()[0] == 0
    keys = con.execute("SELECT key, mode FROM tracks WHERE status = 'ok'").fetchall()
    assert all(0 <= k < 12 and m in ("major", "minor") for k, m in keys)
    copy = tmp_path / "copy.sqlite"
    shutil.copy(index_file, copy)
    for suffix in ("-wal", "-shm"):
        if index_file.with_name(index_file.name + suffix).exists():
            shutil.copy(index_file.with_name(index_file.name + suffix),
                        copy.with_name(copy.name + suffix))  # fmt: skip
    x = vectors.cue_vectors(tiny_manifest, ["mfcc_stats"])
    other = final.fit_final("mfcc_logreg", tiny_manifest, x, tmp_path / "mfcc_final")
    report = build(folder, copy, other, progress=False)
    assert report.rescored == 7
    again = dict(store.connect(copy).execute("SELECT path, tags FROM tracks WHERE status = 'ok'"))
    assert again == rows  # the genre model changed; the taggers' words did not
    # the key filter keeps exactly the tracks of that key
    snap = idx.snapshot(con)
    tonic, mode = int(snap.keys[0]), ("major", "minor")[int(snap.modes[0])]
    hits = search.run(con, snap, {"Drama": 1.0}, filters=search.Filters(key=tonic, mode=mode),
                      top=20)  # fmt: skip
    expected = int(np.sum((snap.keys == tonic) & (snap.modes == snap.modes[0])))
    assert len(hits) == expected and all(h.key == f"{vocabulary.PITCHES[tonic]} {mode}"
                                         for h in hits)  # fmt: skip


@pytest.mark.slow
def test_the_command_line_lists_the_vocabulary_and_searches_with_words(tagged):
    _, index_file = tagged
    listed = run_cli("search", "--vocabulary", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    piano = next(r for r in rows if r["word"] == "piano")
    assert "not a probability" in piano["means"] and "MTT" in piano["source"]
    assert any(r["word"] == "Drama" for r in rows)
    found = run_cli("search", "classical strings -vocals", "--index", str(index_file), "--top", "2",
                    "--format", "json")  # fmt: skip
    assert found.returncode == 0, found.stderr
    hit = json.loads(found.stdout)["results"][0]
    assert {"word:strings", "word:vocals", "key"} <= set(hit)
    wrong = run_cli("search", "Romance pianno", "--index", str(index_file))
    assert wrong.returncode == 1 and "did you mean 'piano'" in wrong.stderr
    keyed = run_cli("search", "Drama", "--index", str(index_file), "--mode", "minor",
                    "--key", "Zb")  # fmt: skip
    assert keyed.returncode == 1 and "key 'Zb'" in keyed.stderr


@pytest.mark.slow
def test_moods_are_stored_per_track_and_segment_and_rank_real_music_by_feel(tagged):
    _, index_file = tagged
    con = store.connect(index_file)
    snap = idx.snapshot(con)
    assert snap.has_moods and snap.moods.shape == (len(snap), 11)
    assert snap.mood_model["name"] == "moods_emotify_fme24"
    segments = store.segments_of(con, [int(snap.ids[0])])[int(snap.ids[0])]
    assert all(s[4] is not None and len(s[4]) == 11 for s in segments)
    probabilities = snap.moods[:, :9].astype(float)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert np.all(np.abs(snap.moods[:, 9:].astype(float)) <= 1)
    # emotify's classical/1 (listeners: solemnity, calmness, sadness), 15 s of its middle
    assert _top(index_file, "calm", 1) == ["classical_1.wav"]
    assert _top(index_file, "calm piano -vocals", 1) == ["classical_1.wav"]
    assert _top(index_file, "sad", 1) == ["classical_1.wav"]
    assert {"classical_1.wav", "classical_3.wav"} <= set(_top(index_file, "solemn", 3))
    # two recordings outside the training data: a ragtime and a Brahms dance
    assert set(_top(index_file, "happy", 2)) == {"442789.wav", "Hungarian.wav"}
    assert _top(index_file, "dark", 7) == _top(index_file, "bright", 7)[::-1]
    hit = search.run(con, snap, parse_query("tense strings"), top=1)[0]
    assert set(hit.asked) == {"tension", "strings"} and len(hit.moods) == 11
    assert hit.to_dict()["mood:tension"] == pytest.approx(hit.moods["tension"], abs=1e-4)


@pytest.mark.slow
def test_the_command_line_answers_a_brief_and_explains_how_it_read_it(tagged):
    _, index_file = tagged
    for brief, first_term in (("calm piano -vocals", "calmness"), ("tense strings", "tension"),
                              ("dark Thriller", "valence")):  # fmt: skip
        found = run_cli("search", brief, "--index", str(index_file), "--top", "3")
        assert found.returncode == 0, found.stderr
        lines = found.stdout.splitlines()
        assert any(line.startswith(f"query: {brief.split()[0]} = ") for line in lines), lines
        assert any(line.startswith("moods: moods_emotify_fme24") for line in lines)
        table = lines[[i for i, ln in enumerate(lines) if ln.lstrip().startswith("#")][0]:]
        assert len(table) == 4 and first_term in table[1], table
    info = run_cli("index", "info", "--index", str(index_file))
    assert "moods: moods_emotify_fme24" in info.stdout and "split-half" in info.stdout
    wrong = run_cli("search", "spooooky", "--index", str(index_file))
    assert wrong.returncode == 1 and "did you mean 'spooky'" in wrong.stderr
    listed = json.loads(run_cli("search", "--vocabulary", "--format", "json").stdout)
    assert sum(r["source"].startswith("thesaurus") for r in listed) >= 300
