"""Manifests, label parsing, skipped-file reasons and film-grouped stratified splits."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from filmgenre.data import dataset, synth
from filmgenre.genres import GENRES


def test_manifest_matches_the_collection(tiny_collection):
    manifest = dataset.build_manifest(tiny_collection / "audio", tiny_collection / "labels.csv")
    labels = pd.read_csv(tiny_collection / "labels.csv").set_index("film")["genres"]
    assert len(manifest.cues) == 32 and manifest.skipped.empty and manifest.label_notes.empty
    for row in manifest.cues.itertuples():
        assert row.genres == labels[row.film]
        assert [g for g in GENRES if manifest.cues.loc[row.Index, g]] == row.genres.split(", ")
    assert manifest.cues["duration"].between(11.0, 14.0).all()


def test_splits_never_share_a_film(tiny_manifest):
    cues = tiny_manifest.cues
    assert set(cues["split"]) == {"train", "val", "test"}
    assert (cues.groupby("film")["split"].nunique() == 1).all()
    again = dataset.assign_splits(tiny_manifest, seed=0)
    assert again.cues["split"].tolist() == cues["split"].tolist()


def test_iterative_stratification_spreads_every_genre():
    labels = np.array(
        [[g in s for g in GENRES] for s in synth.sample_genre_sets(400, np.random.default_rng(3))],
        dtype=int,
    )
    fold = dataset.iterative_stratification(labels, (0.7, 0.15, 0.15), np.random.default_rng(0))
    # sizes give way a little to per-genre balance, which is the point of the method
    assert np.bincount(fold).tolist() == pytest.approx([280, 60, 60], abs=10)
    for j, genre in enumerate(GENRES):
        shares = np.array([labels[fold == f, j].sum() for f in range(3)]) / labels[:, j].sum()
        assert np.allclose(shares, [0.7, 0.15, 0.15], atol=0.06), genre
    random_fold = np.random.default_rng(0).choice(3, size=400, p=[0.7, 0.15, 0.15])

    def spread(f):
        return sum(abs(labels[f == 1, j].sum() / labels[:, j].sum() - 0.15) for j in range(10))

    assert spread(fold) < spread(random_fold)


def _wav(path, seconds=11.0, sr=16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), sr)


def test_unusable_files_and_labels_are_reported_not_dropped(tmp_path):
    audio = tmp_path / "audio"
    _wav(audio / "Film A" / "01 Opening.wav")
    _wav(audio / "Film A" / "02 Short.wav", seconds=0.5)
    (audio / "Film A" / "notes.txt").write_text("not audio")
    _wav(audio / "Unlabelled Film" / "cue.wav")
    _wav(audio / "Horror Film" / "cue.wav")
    labels = tmp_path / "labels.csv"
    labels.write_text(
        'film,genres\n"Film A","Action, Sci Fi, Western"\nGhost Film,Drama\nHorror Film,Horror\n'
    )
    m = dataset.build_manifest(audio, labels)
    assert m.cues[["film", "cue", "genres"]].values.tolist() == [
        ["Film A", "01 Opening", "Action, Sci-Fi"]
    ]
    reasons = dict(
        zip(
            m.skipped["path"].map(lambda p: p.split("/audio/")[1]), m.skipped["reason"], strict=True
        )
    )
    assert "too short to loop into a tile (0.50 s < 1.0 s)" in reasons["Film A/02 Short.wav"]
    assert "not an audio file" in reasons["Film A/notes.txt"]
    assert "no label row for film 'Unlabelled Film'" in reasons["Unlabelled Film/cue.wav"]
    assert "no genre of the genre list" in reasons["Horror Film/cue.wav"]
    notes = dict(zip(m.label_notes["film"], m.label_notes["note"], strict=False))
    assert "Western" in m.label_notes.loc[m.label_notes.film == "Film A", "note"].iloc[0]
    assert notes["Ghost Film"].startswith("no usable audio: ")


def test_label_tables_in_json_and_per_cue_csv(tmp_path):
    audio = tmp_path / "audio"
    _wav(audio / "x" / "a.wav")
    _wav(audio / "y" / "b.wav")
    as_json = tmp_path / "labels.json"
    as_json.write_text(json.dumps({"x": ["Comedy", "Romance"], "y": "Crime, Drama"}))
    m = dataset.build_manifest(audio, as_json)
    assert dict(zip(m.cues.film, m.cues.genres, strict=True)) == {
        "x": "Comedy, Romance",
        "y": "Crime, Drama",
    }
    per_cue = tmp_path / "cues.csv"
    per_cue.write_text("path,film,genres\nx/a.wav,Film X,Comedy\ny/b.wav,Film Y,Musical\n")
    m = dataset.build_manifest(audio, per_cue)
    assert m.cues[["film", "genres"]].values.tolist() == [
        ["Film X", "Comedy"],
        ["Film Y", "Musical"],
    ]


def test_manifest_round_trip_keeps_digest(tiny_manifest, tmp_path):
    tiny_manifest.save(tmp_path)
    loaded = dataset.Manifest.load(tmp_path)
    assert loaded.digest() == tiny_manifest.digest()
    assert loaded.cues["film"].tolist() == tiny_manifest.cues["film"].tolist()
    summary = dataset.split_summary(loaded)
    assert summary.loc["(films)"].sum() == 16


def test_a_title_column_beside_film_and_a_cue_table_become_cue_attributes(tmp_path):
    audio = tmp_path / "audio"
    _wav(audio / "heat" / "a_sample_1.wav")
    _wav(audio / "heat" / "b_sample_1.wav")
    labels = tmp_path / "labels.csv"
    labels.write_text('film,title,year,genres\nheat,Heat,1995,"Action, Crime, Drama, Western"\n')
    cue_table = tmp_path / "cues.csv"
    cue_table.write_text(
        "path,film,composer,score0_song1,split\n"
        "heat/a_sample_1.wav,heat,Elliot Goldenthal,0,x\n"
        "heat/b_sample_1.wav,heat,Moby,1,y\n"
        "heat/missing.wav,heat,Moby,1,z\n"
    )
    m = dataset.build_manifest(audio, labels, cue_table=cue_table)
    cues = m.cues.set_index("cue")
    assert cues.loc["a_sample_1", ["film", "title", "year", "genres"]].tolist() == [
        "heat", "Heat", "1995", "Action, Crime, Drama"]  # fmt: skip
    assert cues.loc["b_sample_1", ["composer", "score0_song1"]].tolist() == ["Moby", "1"]
    assert cues.loc["b_sample_1", "meta_split"] == "y"  # a clash with a manifest column
    assert "listed in cues.csv but not found" in m.skipped["reason"].iloc[0]
    assert "Western" in m.label_notes["note"].iloc[0]


def test_shipped_filmscore_tables_pair_with_their_audio(realaudio):
    folder = realaudio / "filmscore"
    if not (folder / "cues.csv").is_file():
        pytest.skip(f"{folder} is absent (see ../shared/realaudio/MANIFEST.md)")
    m = dataset.build_manifest(folder, folder / "labels.csv", cue_table=folder / "cues.csv")
    reasons = m.skipped["reason"].tolist()
    tables = len(list(folder.glob("*.csv")))  # labels, cues and the listeners' emotions
    assert tables >= 2 and reasons.count("not an audio file extension (.csv)") == tables
    assert m.cues["film"].nunique() == 74  # two documentaries have none of the ten genres
    assert {"title", "composer", "score0_song1"} <= set(m.cues.columns)
    assert m.cues["composer"].ne("").all()


@pytest.mark.parametrize(
    "text, line, problem",
    [
        ('film,genres\nA,"Drama\nB,Comedy\n', 2, "quote never closed"),
        ("film,genres\nA,Drama\nB,Comedy\nC,Drama,Romance,extra\n", 4, "4 fields where"),
        ('{"A": "Drama",\n "B": }\n', 2, "JSON"),
    ],
)
def test_a_malformed_label_table_is_named_with_its_line(tmp_path, text, line, problem):
    path = tmp_path / ("labels.json" if text.startswith("{") else "labels.csv")
    path.write_text(text)
    with pytest.raises(ValueError) as caught:
        dataset.read_label_table(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line {line}:") and problem in message, message


def test_each_undecodable_file_is_reported_once_with_its_own_reason(tmp_path):
    # missing features must never compare equal in the duplicate-content check
    from filmgenre.data import assemble

    audio = tmp_path / "audio"
    _wav(audio / "Film A" / "good.wav", seconds=12.0)
    _wav(audio / "Film A" / "copy.wav", seconds=12.0)  # same bytes: a true duplicate
    (audio / "Film A" / "empty.wav").write_bytes(b"")
    (audio / "Film A" / "text.mp3").write_text("this is not an mp3\n" * 20)
    (audio / "Film A" / "broken.m4a").write_bytes(b"\x00\x00\x00\x18ftypM4A " + b"\x01" * 200)
    labels = tmp_path / "labels.csv"
    labels.write_text("film,genres\nFilm A,Drama\n")
    m = assemble.build_dataset(audio, labels, tmp_path / "out", n_jobs=1, progress=False)
    names = m.skipped["path"].map(lambda p: p.split("/")[-1]).tolist()
    unusable = sorted(n for n in names if n not in ("good.wav", "copy.wav"))
    assert unusable == ["broken.m4a", "empty.wav", "text.mp3"], names  # each once
    assert len(names) == 4, names  # and one of the two identical files
    reasons = dict(zip(names, m.skipped["reason"], strict=True))
    for bad in ("empty.wav", "text.mp3", "broken.m4a"):
        assert "duplicate" not in reasons[bad], reasons
    duplicate = next(n for n in names if n.endswith(".wav") and n != "empty.wav")
    assert reasons[duplicate].startswith("duplicate of") and "(same content)" in reasons[duplicate]
    assert len(m.cues) == 1


def test_a_scheduler_address_with_no_scheduler_fails_clearly(tmp_path):
    import subprocess
    import sys

    audio = tmp_path / "audio"
    _wav(audio / "Film A" / "cue.wav", seconds=12.0)
    (tmp_path / "labels.csv").write_text("film,genres\nFilm A,Drama\n")
    done = subprocess.run(
        [sys.executable, "-m", "filmgenre", "dataset", "build", "--audio", str(audio),
         "--labels", str(tmp_path / "labels.csv"), "--out", str(tmp_path / "out"),
         "--scheduler", "tcp://127.0.0.1:9"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "FILMGENRE_SCHEDULER_TIMEOUT": "2"},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no Dask scheduler answers at tcp://127.0.0.1:9" in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "out" / "manifest.csv").exists()  # it did not run locally instead
