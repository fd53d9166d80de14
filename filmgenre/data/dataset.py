"""Manifests: which cues belong to which film, their genres, and film-grouped splits.

A collection on disk is ``<audio>/<film>/<cue>.<ext>`` plus a label table (CSV or
JSON) with one row per film (``film``, ``genres`` as an IMDB string such as
"Action, Adventure, Sci-Fi") or one row per cue (``path`` or ``cue`` beside
``film``/``genres``). The synthetic generator writes the same shape.

Rules for labels (documented in the README): genre names are normalised for
case, spacing and common spellings ("SciFi", "Science Fiction" -> "Sci-Fi"); a
genre outside the chosen list is *removed from that film's label set and
reported*; a film left with no genre of the list is skipped with that reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import FeatureParams

from ..genres import GENRES, split_labels
from .audio import is_audio_file, probe_duration

SPLITS = ("train", "val", "test")

def _csv_problem(path: Path) -> tuple[int | None, str | None]:
    """The first line of a CSV file that breaks it, and how: a quote never closed, or a
    row with more fields than the header (pandas' own message often names neither)."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f, strict=True)
        header: list[str] | None = None
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return None, None
            except csv.Error as exc:
                return start, f"{exc} in the row that starts here (a quote never closed?)"
            if header is None:
                header = row
            elif len(row) > len(header):
                return reader.line_num, f"{len(row)} fields where the header has {len(header)}"


def _read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A CSV or JSON table as strings, column names lower-cased; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"table not found: {path}")
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(path.read_text())
            if isinstance(raw, dict):  # {"film": "genres", ...} or {"film": [genres]}
                raw = [{"film": k, "genres": v} for k, v in raw.items()]
            table = pd.DataFrame(raw)
        else:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        line, problem = _csv_problem(path)
        where = f"{path}, line {line}" if line else str(path)
        raise ValueError(f"{where}: not a readable CSV table: {problem or exc}") from exc
    except json.JSONDecodeError as exc:  # its message names line and column
        raise ValueError(f"{path}, line {exc.lineno}: not a readable JSON table ({exc})") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable table ({exc})") from exc
    table.columns = [str(c).strip().lower() for c in table.columns]
    return table


def read_label_table(path: str | os.PathLike[str], label_column: str | None = None) -> pd.DataFrame:
    """Read a CSV or JSON label table into a frame with at least ``film`` and ``genres``.

    ``label_column`` names the column holding the genre string when it is not
    ``genres``/``genre``. A per-cue table (``path``/``file`` column) without a
    ``film`` column makes every file its own group, so no file can share a film
    with another across splits by accident.
    """
    path = Path(path)
    table = _read_table(path)
    if label_column:
        key = label_column.strip().lower()
        if key not in table.columns:
            raise ValueError(f"{path}: no column {label_column!r}; it has {list(table.columns)}")
        table = table.drop(columns=[c for c in ("genres",) if c != key and c in table.columns])
        table = table.rename(columns={key: "genres"})
    elif "genres" not in table.columns:
        table = table.rename(columns={"genre": "genres"})
    renames = {"file": "path", "filename": "path"}
    if "film" not in table.columns:  # a title names the film only when no film column does
        alt = next((c for c in ("title", "movie") if c in table.columns), None)
        if alt:
            renames[alt] = "film"
    table = table.rename(columns=renames)
    if table.columns.duplicated().any():
        dup = sorted(set(table.columns[table.columns.duplicated()]))
        raise ValueError(f"{path}: column(s) {dup} given twice (after renaming file -> path)")
    if "film" not in table.columns and "path" in table.columns:
        table["film"] = table["path"].astype(str)
    missing = {"film", "genres"} - set(table.columns)
    if missing:
        raise ValueError(
            f"{path}: label table lacks column(s) {sorted(missing)}; it has {list(table.columns)}"
        )
    table["film"] = table["film"].astype(str).str.strip()
    return table


#: manifest columns no attribute of a label or cue table may take over
RESERVED_COLUMNS = frozenset(
    {"film", "cue", "path", "genres", "duration", "split", "features", "n_tiles", "fold"}
)


def attribute_columns(table: pd.DataFrame, genres: tuple[str, ...]) -> dict[str, str]:
    """Extra columns of a label or cue table kept as cue attributes: source -> manifest name.

    Such columns (``title``, ``year``, ``composer``, ``score0_song1`` ...) travel with each
    cue so that results can be broken down by them; a name that clashes with a manifest
    column or a genre is kept as ``meta_<name>``.
    """
    out = {}
    for column in table.columns:
        if column in ("film", "genres", "path", "cue"):
            continue
        clash = column in RESERVED_COLUMNS or column in {g.lower() for g in genres}
        out[column] = f"meta_{column}" if clash else column
    return out


def read_cue_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A per-cue attribute table (CSV with a ``path`` column relative to the audio folder).

    Its other columns (composer, track, a score-or-song flag ...) become cue attributes;
    genres still come from the label table.
    """
    table = _read_table(path)
    table = table.rename(columns={"file": "path", "filename": "path"})
    if "path" not in table.columns:
        raise ValueError(f"{path}: cue table lacks a 'path' column; it has {list(table.columns)}")
    duplicated = table["path"][table["path"].duplicated()]
    if len(duplicated):
        raise ValueError(f"{path}: path {duplicated.iloc[0]!r} is listed more than once")
    return table


def genres_in_table(table: pd.DataFrame) -> tuple[str, ...]:
    """Every genre name a label table uses, normalised, in order of first appearance:
    the genre list for collections that are not labelled with the ten film genres."""
    seen: dict[str, None] = {}
    for text in table["genres"]:
        known, others = split_labels(text, GENRES)  # film genres keep their canonical spelling
        seen.update(dict.fromkeys(known + others))
    return tuple(seen)


@dataclass
class Manifest:
    """The cues of a collection, what was skipped and why, and label notes."""

    cues: pd.DataFrame
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["path", "reason"]))
    label_notes: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["film", "note"])
    )
    genres: tuple[str, ...] = GENRES

    def split(self, name: str) -> pd.DataFrame:
        return self.cues[self.cues["split"] == name]

    def digest(self) -> str:
        """Hash of the cue list, genres and splits: recorded beside every result."""
        cols = ["film", "cue", "genres", "split"] if "split" in self.cues else ["film", "cue"]
        blob = self.cues[cols].to_csv(index=False).encode()
        return hashlib.sha1(blob).hexdigest()[:16]

    def save(self, folder: str | os.PathLike[str]) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.cues.to_csv(folder / "manifest.csv", index=False)
        self.skipped.to_csv(folder / "skipped.csv", index=False)
        self.label_notes.to_csv(folder / "label_notes.csv", index=False)
        (folder / "manifest.json").write_text(json.dumps({
            "genres": list(self.genres), "digest": self.digest(), "n_cues": len(self.cues),
            "n_films": int(self.cues["film"].nunique()), "n_skipped": len(self.skipped),
        }, indent=2))  # fmt: skip
        return folder / "manifest.csv"

    @classmethod
    def of_files(cls, paths: list, groups: list[str] | None = None) -> Manifest:
        """Unlabelled audio files (to featurise or score), each its own film unless ``groups``."""
        paths = [Path(p) for p in paths]
        return cls(pd.DataFrame({
            "film": groups or [str(p) for p in paths], "cue": [p.stem for p in paths],
            "path": [str(p.resolve()) for p in paths], "genres": "", "duration": np.nan,
        }), genres=())  # fmt: skip

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> Manifest:
        folder = Path(folder)
        if not (folder / "manifest.csv").is_file():
            raise FileNotFoundError(
                f"no manifest.csv in {folder}: run notebook 01 or `filmgenre dataset build` first"
            )
        meta = json.loads((folder / "manifest.json").read_text())
        cues = pd.read_csv(folder / "manifest.csv", keep_default_na=False)
        cues["film"] = cues["film"].astype(str)
        skipped = pd.read_csv(folder / "skipped.csv", keep_default_na=False)
        notes = pd.read_csv(folder / "label_notes.csv", keep_default_na=False)
        return cls(cues, skipped, notes, tuple(meta["genres"]))


#: how a label note starts for a labelled film that ends with no cue, whatever the cause
NO_USABLE_AUDIO = "no usable audio: "


def build_manifest(
    audio_dir: str | os.PathLike[str],
    labels: str | os.PathLike[str],
    genres: tuple[str, ...] | str = GENRES,
    params: FeatureParams = FeatureParams(),
    label_column: str | None = None,
    cue_table: str | os.PathLike[str] | None = None,
) -> Manifest:
    """Pair the audio files under ``audio_dir`` with the label table; list what was skipped.

    Checks here are cheap (headers only); decoding problems surface when features
    are extracted and are added to the same skipped list. Extra columns of the label
    table, and of ``cue_table`` (per-cue attributes keyed by ``path``), are kept on
    each cue.
    """
    audio_dir = Path(audio_dir)
    if not audio_dir.is_dir():
        raise FileNotFoundError(f"audio folder not found: {audio_dir}")
    table = read_label_table(labels, label_column)
    if isinstance(genres, str):
        genres = (
            genres_in_table(table)
            if genres == "auto"
            else tuple(g.strip() for g in genres.split(",") if g.strip())
        )
    if not genres:
        raise ValueError(f"{labels}: no genres to learn (the genre list is empty)")
    skipped: list[dict] = []
    notes: list[dict] = []
    film_genres: dict[str, list[str]] = {}
    for film, rows in table.groupby("film", sort=False):
        known, unknown = split_labels(rows["genres"].iloc[0], genres)
        if unknown:
            notes.append(
                {
                    "film": film,
                    "note": "genre(s) outside the genre list, removed: " + ", ".join(unknown),
                }
            )
        if not known:
            notes.append({"film": film, "note": "no genre of the genre list: film skipped"})
            continue
        film_genres[film] = known

    attrs = attribute_columns(table, genres)
    film_attrs = table.drop_duplicates("film").set_index("film")[list(attrs)]
    listed = "path" in table.columns and table["path"].astype(str).str.len().gt(0).any()
    cue_attrs: dict[str, dict] = {}
    if listed:
        for r in table.to_dict("records"):
            cue_attrs[str((audio_dir / str(r["path"])).resolve())] = {attrs[c]: r[c] for c in attrs}
    extra = read_cue_table(cue_table) if cue_table is not None else None
    extra_names = attribute_columns(extra, genres) if extra is not None else {}
    if extra is not None:
        for r in extra.to_dict("records"):
            where = (audio_dir / str(r["path"])).resolve()
            if not where.is_file():
                reason = f"listed in {Path(cue_table).name} but not found"
                skipped.append({"path": str(where), "reason": reason})
                continue
            named = cue_attrs.setdefault(str(where), {})
            named.update({extra_names[c]: r[c] for c in extra_names})
    if listed:
        candidates = [(str(r.film), audio_dir / str(r.path)) for r in table.itertuples()]
    else:
        files = sorted(
            p for p in audio_dir.rglob("*") if p.is_file() and not p.name.startswith(".")
        )
        candidates = []
        for p in files:
            if not is_audio_file(p):
                skipped.append(
                    {"path": str(p), "reason": f"not an audio file extension ({p.suffix})"}
                )
                continue
            film = (
                p.relative_to(audio_dir).parts[0] if len(p.relative_to(audio_dir).parts) > 1 else ""
            )
            candidates.append((film, p))

    rows, seen_films, labelled_films = [], set(), set(table["film"])
    for film, path in candidates:
        if film not in film_genres:
            reason = (
                "file is not inside a film folder"
                if not film
                else f"no label row for film '{film}'"
            )
            if film in labelled_films:
                reason = f"film '{film}' has no genre of the genre list"
            skipped.append({"path": str(path), "reason": reason})
            continue
        if not path.is_file():
            skipped.append({"path": str(path), "reason": "listed in the label table but not found"})
            continue
        duration = probe_duration(path)
        if duration is not None and duration * params.sample_rate < params.min_cue_samples:
            skipped.append({"path": str(path), "reason": params.too_short_reason(duration)})
            continue
        seen_films.add(film)
        known = film_genres[film]
        row = {
            "film": film,
            "cue": path.stem,
            "path": str(path.resolve()),
            "genres": ", ".join(known),
            "duration": duration if duration is not None else np.nan,
        }
        row.update({g: int(g in known) for g in genres})
        if not listed and film in film_attrs.index:
            row.update({attrs[c]: film_attrs.at[film, c] for c in attrs})
        row.update(cue_attrs.get(row["path"], {}))
        rows.append(row)
    for film in film_genres:
        if film not in seen_films:
            notes.append({"film": film, "note": NO_USABLE_AUDIO + "no audio file of the film "
                          "was found or kept (see skipped.csv)"})  # fmt: skip
    names = list(dict.fromkeys([*attrs.values(), *extra_names.values()]))
    cues = pd.DataFrame(
        rows, columns=["film", "cue", "path", "genres", "duration", *genres, *names]
    )
    return Manifest(
        cues,
        pd.DataFrame(skipped, columns=["path", "reason"]),
        pd.DataFrame(notes, columns=["film", "note"]),
        tuple(genres),
    )


def open_run(run_dir: str | os.PathLike[str]) -> tuple[Path, Manifest | None]:
    """A notebook's first step: the run folder (relative paths from the project root,
    created if needed), its manifest once notebook 01 has written one; prints both."""
    from .. import __version__
    from ..config import resolve

    run = resolve(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    print("filmgenre", __version__, "| run folder:", run.name)  # no machine path in a report
    built = (run / "dataset" / "manifest.csv").is_file()
    return run, Manifest.load(run / "dataset") if built else None


def source_summary(cues: pd.DataFrame, genres: tuple[str, ...]) -> dict:
    """What a model is trained on: the audio folder, whether it is the synthetic collection
    (a ``synth.json`` beside its audio), films, cues and genres. Saved with every model."""
    paths = [str(p) for p in cues["path"]] if len(cues) else []
    folder = Path(os.path.commonpath(paths)) if paths else None
    if folder is not None and folder.is_file():
        folder = folder.parent
    synthetic = folder is not None and any(
        (d / "synth.json").is_file() for d in (folder, *list(folder.parents)[:3])
    )
    return {
        "audio_dir": str(folder) if folder else None,
        "synthetic": bool(synthetic),
        "n_films": int(cues["film"].nunique()) if paths else 0,
        "n_cues": len(paths),
        "genres": list(genres),
    }


def iterative_stratification(
    labels: np.ndarray, fractions: tuple[float, ...], rng: np.random.Generator
) -> np.ndarray:
    """Assign rows of a multi-label matrix to folds (Sechidis et al. 2011).

    Repeatedly takes the label with the fewest unassigned positives and deals its
    rows to the fold that most lacks that label, so rare genres are spread
    across folds in proportion. Returns each row's fold index.
    """
    n, k = labels.shape
    fractions = np.asarray(fractions, dtype=float) / np.sum(fractions)
    want_label = np.outer(fractions, labels.sum(axis=0))
    want_total = fractions * n
    fold = np.full(n, -1)
    remaining = labels.astype(bool).copy()
    while (fold < 0).any():
        counts = remaining[fold < 0].sum(axis=0)
        if counts.sum() == 0:
            rows = np.flatnonzero(fold < 0)
            label = None
        else:
            counts = np.where(counts > 0, counts, np.inf)
            label = rng.choice(np.flatnonzero(counts == counts.min()))
            rows = np.flatnonzero((fold < 0) & remaining[:, label])
        for row in rng.permutation(rows):
            if label is None:
                scores = want_total
            else:
                scores = want_label[:, label] + 1e-6 * want_total
            best = np.flatnonzero(np.isclose(scores, scores.max()))
            chosen = rng.choice(best)
            fold[row] = chosen
            want_label[chosen] -= labels[row]
            want_total[chosen] -= 1
    return fold


def assign_splits(
    manifest: Manifest, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15), seed: int = 0
) -> Manifest:
    """Give every cue a split; all cues of a film share one split, stratified over genres."""
    films = manifest.cues.groupby("film", sort=True)[list(manifest.genres)].max()
    rng = np.random.default_rng(seed)
    fold = iterative_stratification(films.to_numpy(), fractions, rng)
    for empty in [i for i in range(len(fractions)) if not (fold == i).any()]:
        largest = np.bincount(fold, minlength=len(fractions)).argmax()
        fold[rng.choice(np.flatnonzero(fold == largest))] = empty
    split_of = dict(zip(films.index, np.array(SPLITS)[fold], strict=True))
    cues = manifest.cues.copy()
    cues["split"] = cues["film"].map(split_of)
    return Manifest(cues, manifest.skipped, manifest.label_notes, manifest.genres)


def split_summary(manifest: Manifest) -> pd.DataFrame:
    """Films, cues and positives per genre in each split: the table notebook 01 shows."""
    cues = manifest.cues
    table = cues.groupby("split")[list(manifest.genres)].sum().T
    table.loc["(cues)"] = cues.groupby("split").size()
    table.loc["(films)"] = cues.groupby("split")["film"].nunique()
    return table.reindex(columns=[s for s in SPLITS if s in table.columns]).astype(int)


def example_cues(manifest: Manifest, genre: str, n: int = 1, seed: int = 0) -> pd.DataFrame:
    """Up to ``n`` cues that show ``genre`` most plainly (films with fewest other genres first)."""
    cues = manifest.cues[manifest.cues[genre] == 1]
    if cues.empty:
        return cues
    n_genres = cues[list(manifest.genres)].sum(axis=1)
    order = np.random.default_rng(seed).permutation(len(cues))
    ranked = cues.iloc[order].assign(_n=n_genres.iloc[order].to_numpy())
    return ranked.sort_values("_n", kind="stable").head(n).drop(columns="_n")
