"""What the notebooks show: whole tables (never elided by pandas), paired results as the
front page words them, and cues with their scores and an audio player.

Notebooks call these instead of repeating display code; only notebooks import this module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import audio
from ..evaluation import metrics
from .report import paired_frame


def table(frame: pd.DataFrame, digits: int = 3) -> None:
    """Display every row and column of ``frame``, numbers rounded: a report must show every
    model, where pandas would cut a wide or long table to "… 10 rows × 21 columns"."""
    from IPython.display import display

    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", None, "display.show_dimensions", False):  # fmt: skip
        display(frame.round(digits))


def tables(named: dict[str, pd.DataFrame], digits: int = 3) -> None:
    """Several tables, each under its name (the measurements that return a dict of them); a
    table of paired differences as :func:`paired` words it."""
    for name, frame in named.items():
        print(name)
        if "interval_excludes_zero" in frame.columns:
            paired(frame)
        else:
            table(frame, digits)


def paired(frame: pd.DataFrame | list[dict]) -> None:
    """Paired differences as the front page shows them: question, A − B, difference,
    interval and "clear of zero" decided from the interval (no raw index, no True/False)."""
    records = frame.to_dict("records") if isinstance(frame, pd.DataFrame) else list(frame)
    if not records:
        print("no pairs of comparable models in this run")
        return
    table(paired_frame({"paired": records}).set_index("question"))


def cue_scores(rows: pd.DataFrame, y: np.ndarray, s: np.ndarray,
               genres: tuple[str, ...]) -> pd.DataFrame:  # fmt: skip
    """One row per cue: its film's genres, the model's three top genres, and its loss (mean
    binary cross-entropy over genres; low = right)."""
    return rows[["film", "cue"]].reset_index(drop=True).assign(
        genres=[", ".join(g for j, g in enumerate(genres) if y[i, j]) for i in range(len(y))],
        top3=[", ".join(genres[j] for j in s[i].argsort()[::-1][:3]) for i in range(len(y))],
        loss=metrics.per_cue_loss(y, s),
    )


def cue_players(rows: pd.DataFrame, y: np.ndarray, s: np.ndarray, genres: tuple[str, ...],
                paths: pd.Series, which: list[int] | np.ndarray,
                seconds: float = 10.0) -> None:  # fmt: skip
    """For each cue of ``which`` (positions in ``rows``): true and top predicted genres,
    then an embedded audio excerpt. ``paths`` maps (film, cue) to the audio file."""
    from IPython.display import Markdown, display

    for i in which:
        row = rows.iloc[int(i)]
        top = ", ".join(f"{genres[j]} {s[i, j]:.2f}" for j in s[i].argsort()[::-1][:3])
        true = ", ".join(g for j, g in enumerate(genres) if y[i, j])
        display(Markdown(f"**{row.film} / {row.cue}**: true {true}; predicted {top}"))
        display(audio.player(paths[(row.film, row.cue)], seconds))


def right_and_wrong(rows: pd.DataFrame, y: np.ndarray, s: np.ndarray, genres: tuple[str, ...],
                    paths: pd.Series, n: int = 5, n_audio: int = 3,
                    seconds: float = 10.0) -> None:  # fmt: skip
    """The ``n`` cues the model got most right and most wrong, and audio of the
    ``n_audio`` most wrong."""
    from IPython.display import Markdown, display

    scored = cue_scores(rows, y, s, genres)
    order = scored["loss"].to_numpy().argsort()
    display(Markdown("**Most right**"))
    table(scored.iloc[order[:n]])
    display(Markdown("**Most wrong**"))
    table(scored.iloc[order[::-1][:n]])
    cue_players(rows, y, s, genres, paths, order[::-1][:n_audio], seconds)


def hits(hits_list: list, library_root: str | None, players: int = 3,
         seconds: float = 10.0) -> None:  # fmt: skip
    """Search hits as a table (rank, score, the cut, title, path, top genres), then audio of
    the first ``players`` hits starting at their best cut."""
    from pathlib import Path

    from IPython.display import Markdown, display

    if not hits_list:
        print("no track matches")
        return
    rows = []
    for h in hits_list:
        top = sorted(h.genres.items(), key=lambda kv: -kv[1])[:3]
        rows.append({"rank": h.rank, "score": h.score,
                     "cut (s)": f"{h.segment[0]:.0f}-{h.segment[1]:.0f}" if h.segment else "",
                     "title": h.fields.get("title"), "path": h.fields.get("path"),
                     "top genres": ", ".join(f"{g} {p:.2f}" for g, p in top),
                     **({"moods and words": ", ".join(f"{w} {v:.2f}" for w, v in
                                                      h.asked.items())}
                        if getattr(h, "asked", None) else {})})  # fmt: skip
    table(pd.DataFrame(rows).set_index("rank"))
    for h in hits_list[:players]:
        start = h.segment[0] if h.segment else 0.0
        display(Markdown(f"**{h.rank}. {h.fields.get('title')}** from {start:.0f} s"))
        display(audio.player(Path(library_root or "") / h.fields["path"], seconds, start=start))


def cv_scores(study) -> None:
    """A cross-validation study's tables per level, its best rows and, where it nested the
    choice of family, the family each outer fold chose (notebook 08)."""
    from IPython.display import Markdown, display

    for level, frame in study.score().items():
        display(Markdown(f"**{level}**"))
        table(frame)
    print("best model (cue level):", study.best, "| best cue-vector family:", study.best_family)
    if study.nested_choices() is not None:
        display(Markdown("**nested_selection**: the whole choice of family made inside each "
                         "outer fold, as the pipeline makes it: the figure for the procedure; "
                         "the best single row above is a best of N, optimistic. Families "
                         "chosen:"))  # fmt: skip
        table(study.nested_choices())


def cv_breakdowns(study) -> None:
    """A study's best model per genre (genres too rare to rank named) and, where cues say
    whether they are score or licensed song, per kind of cue (notebook 08)."""
    from IPython.display import Markdown, display

    genre_table, song_table = study.breakdowns()
    table(genre_table)
    if study.too_rare():
        print(f"too rare to rank models on (fewer than {study.min_films} positive films): "
              f"{', '.join(study.too_rare())}")  # fmt: skip
    if song_table is not None:
        display(Markdown("**score (0) vs licensed song (1) cues**"))
        table(song_table)
