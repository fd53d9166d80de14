"""A run's front page (``index.html``) and the list of every run (``reports/index.html``).

The front page opens on the answer: the data used (films, cues, hours, every skipped file
with its reason), the results table sorted by macro ROC-AUC with intervals, the interval
figure, the paired questions, and the cross-validated table when the run has one; then
the parameters, library versions and the notebooks. Pages are self-contained HTML with no
external resources, so they open offline and can be mailed around.
"""

from __future__ import annotations

import html
import json
import os
from datetime import datetime
from pathlib import Path

import pandas as pd

from ..config import display_path
from ..evaluation.metrics import excludes_zero

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; }
details { margin: 0.5em 0 1em; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; }
.bad { color: #a00; }
"""


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    """An HTML table of a frame: numbers right-aligned and rounded, text escaped."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for value in row:
            if isinstance(value, float):
                text = "" if pd.isna(value) else f"{value:.{digits}f}"
                cells.append(f"<td class='num'>{text}</td>")
            elif isinstance(value, int):
                cells.append(f"<td class='num'>{value}</td>")
            else:
                cells.append(f"<td>{html.escape(str(value))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def data_summary(run_dir: str | os.PathLike[str]) -> dict:
    """Films, cues, hours of audio and skipped files of a run's dataset."""
    folder = Path(run_dir) / "dataset"
    if not (folder / "manifest.csv").is_file():
        return {}
    cues = pd.read_csv(folder / "manifest.csv", keep_default_na=False)
    skipped = (
        pd.read_csv(folder / "skipped.csv", keep_default_na=False)
        if (folder / "skipped.csv").is_file()
        else pd.DataFrame(columns=["path", "reason"])
    )
    seconds = pd.to_numeric(cues.get("duration", pd.Series(dtype=float)), errors="coerce")
    source = Path(os.path.commonpath(list(cues["path"]))) if len(cues) else None
    return {
        "films": int(cues["film"].nunique()),
        "cues": len(cues),
        "hours": float(seconds.sum() / 3600),
        "splits": cues["split"].value_counts().to_dict() if "split" in cues else {},
        "source": display_path(source) if source else None,
        "skipped": skipped,
    }


def results_frame(metrics: dict) -> pd.DataFrame:
    """Every scored model of a ``metrics.json``, best macro ROC-AUC first."""
    rows = []
    for name, entry in metrics.get("models", {}).items():
        m, ci = entry.get("metrics", {}), entry.get("ci95", {})
        low, high = ci.get("macro_roc_auc", [float("nan")] * 2)
        rows.append({
            "model": name,
            "macro ROC-AUC": m.get("macro_roc_auc"),
            "95% interval": f"[{low:.3f}, {high:.3f}]",
            "micro ROC-AUC": m.get("micro_roc_auc"),
            "macro AP": m.get("macro_ap"),
            "cues": entry.get("n_cues"),
            "films": entry.get("n_films"),
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    return frame.sort_values("macro ROC-AUC", ascending=False) if len(frame) else frame


def paired_frame(metrics: dict) -> pd.DataFrame:
    """The paired questions of a ``metrics.json`` (or of a cross-validation's): difference,
    interval, and "clear of zero" decided from that interval (:func:`metrics.excludes_zero`),
    never from a stored flag that one writer or another may lack."""
    rows = []
    for p in metrics.get("paired", []):
        low, high = (float(p.get(k, float("nan"))) for k in ("ci95_low", "ci95_high"))
        rows.append({
            "question": p.get("comparison") or p.get("level", ""),
            "A − B": f"{p.get('a')} − {p.get('b')}",
            "difference": p.get("difference"),
            "95% interval": f"[{low:+.3f}, {high:+.3f}]",
            "clear of zero": "yes" if excludes_zero(low, high) else "no",
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["question", "A − B", "difference", "95% interval",
                                       "clear of zero"])  # fmt: skip


def _figure(run_dir: Path, name: str, alt: str) -> str:
    path = run_dir / "figures" / name
    return f"<p><img src='figures/{name}' alt='{html.escape(alt)}'></p>" if path.is_file() else ""


def write_run_index(run_dir: str | os.PathLike[str], status: dict) -> Path:
    """Write ``<run>/index.html``: data, sorted results with intervals, paired questions,
    cross-validation, then parameters, versions and the notebooks."""
    run_dir = Path(run_dir)
    parts = [f"<h1>filmgenre run {html.escape(run_dir.name)}</h1>"]
    parts.append(
        f"<p>profile <b>{html.escape(str(status.get('profile')))}</b>, status "
        f"<b>{html.escape(str(status.get('status')))}</b></p>"
    )
    from .runs import headline

    top = headline(run_dir)
    if top:
        parts.append(
            f"<p class='headline'>Headline: <b>{html.escape(top['model'])}</b>, macro ROC-AUC "
            f"<b>{top['macro_roc_auc']:.3f}</b> ({html.escape(top['figure'])})</p>"
        )
    data = data_summary(run_dir)
    parts.append("<h2>Data</h2>")
    if data:
        splits = ", ".join(f"{k} {v}" for k, v in sorted(data["splits"].items()))
        parts.append(
            f"<p><b>{data['films']} films, {data['cues']} cues, {data['hours']:.1f} hours</b>"
            f" of audio from <code>{html.escape(str(data['source']))}</code> (cues per split: "
            f"{splits}). <b>{len(data['skipped'])} file(s) skipped</b>"
            + (" (listed below)." if len(data["skipped"]) else ".")
            + "</p>"
        )
        if len(data["skipped"]):
            parts.append(
                "<details><summary>skipped files and why</summary>"
                + _table(data["skipped"][["path", "reason"]].assign(
                    path=data["skipped"]["path"].map(display_path)))  # fmt: skip
                + "</details>"
            )
    else:
        parts.append("<p>no dataset in this run yet.</p>")
    metrics = _read_json(run_dir / "metrics.json")
    parts.append("<h2>Results on test films</h2>")
    if metrics:
        parts.append(
            f"<p>{metrics.get('n_boot')} bootstrap resamples of films give the 95% intervals."
            "</p>" + _table(results_frame(metrics))
        )
        parts.append(_figure(run_dir, "07_macro_auc_intervals.png", "macro ROC-AUC intervals"))
        paired = paired_frame(metrics)
        if len(paired):
            parts.append("<h3>Paired questions (same film resamples for A and B)</h3>")
            parts.append(_table(paired))
    else:
        parts.append("<p>no metrics.json yet (the evaluation notebook has not finished).</p>")
    cv = _read_json(run_dir / "crossval" / "metrics.json")
    if cv.get("levels"):
        parts.append("<h2>Cross-validation (every film predicted by models that never saw it)"
                     "</h2>")  # fmt: skip
        for level, scores in cv["levels"].items():
            parts.append(
                f"<h3>{html.escape(level)}</h3>" + _table(results_frame({"models": scores}))
            )
        parts.append(_figure(run_dir, "08_cv_macro_auc_intervals.png", "cross-validated AUC"))
        paired = [dict(p, comparison=f"{p['level']}: vs the anchor") for p in cv.get("paired", [])]
        if paired:
            parts.append(
                "<h3>Paired with the anchor</h3>" + _table(paired_frame({"paired": paired}))
            )
        if cv.get("film_models"):
            parts.append("<h3>Film level: learned from a film's cues vs the mean of cue scores"
                         "</h3>" + _table(paired_frame({"paired": cv["film_models"]})))  # fmt: skip
    parts.extend(_search_quality(run_dir))
    parts.append("<h2>Notebooks</h2>")
    rows = []
    for nb in status.get("notebooks", []):
        html_name = Path(nb["html"]).name if nb.get("html") else None
        link = f"<a href='{html_name}'>{nb['name']}</a>" if html_name else nb["name"]
        executed = f"<a href='{nb['name']}'>.ipynb</a>"
        cls = "" if nb["status"] == "ok" else " class='bad'"
        rows.append(f"<tr><td>{link} ({executed})</td><td{cls}>{nb['status']}</td>"
                    f"<td class='num'>{nb['seconds']:.0f} s</td></tr>")  # fmt: skip
    parts.append("<table><tr><th>notebook</th><th>status</th><th>time</th></tr>"
                 + "".join(rows) + "</table>")  # fmt: skip
    params = run_dir / "parameters.yaml"
    if params.is_file():
        parts.append("<h2>Parameters</h2><details><summary>parameters.yaml</summary><pre>"
                     + html.escape(params.read_text()) + "</pre></details>")  # fmt: skip
    versions = _read_json(run_dir / "versions.json")
    if versions:
        text = ", ".join(f"{k} {v}" for k, v in versions.items())
        parts.append(f"<h2>Versions</h2><p>{html.escape(text)}</p>")
    links = [n for n in ("metrics.json", "crossval/metrics.json", "library/quality.json",
                         "dataset/skipped.csv",
                         "dataset/manifest.csv", "figures/") if (run_dir / n).exists()]  # fmt: skip
    parts.append("<p>" + " · ".join(f"<a href='{n}'>{n}</a>" for n in links) + "</p>")
    target = run_dir / "index.html"
    target.write_text(_page(f"filmgenre run {run_dir.name}", "".join(parts)), encoding="utf-8")
    return target


def _figure_with_interval(row: dict, key: str) -> str:
    interval = row.get(f"{key} 95%")
    value = f"{row[key]:.3f}"
    return value if not interval else f"{value} [{interval[0]:.3f}, {interval[1]:.3f}]"


def _search_quality(run_dir: Path) -> list[str]:
    """The library notebook's search-quality measurement (``library/quality.json``): genre
    queries and "more like this" on the run's collection, cross-validated by film."""
    figures = _read_json(run_dir / "library" / "quality.json")
    if not figures.get("genre_queries"):
        return []
    c = figures["collection"]
    genre = pd.DataFrame([{"query kind": r["query kind"], "ranking": r["ranking"],
                           "queries": r["queries"],
                           **{m: _figure_with_interval(r, m) for m in ("P@10", "MAP", "nDCG@10")}}
                          for r in figures["genre_queries"]])  # fmt: skip
    keys = ("same film's other track in top 10", "random cues' rate", "genre agreement (Jaccard)",
            "random cues' agreement")
    similar = pd.DataFrame([{"vectors": r["vectors"], **{k: _figure_with_interval(r, k)
                                                          for k in keys}}
                            for r in figures["more_like_this"]])  # fmt: skip
    chosen = ", ".join(f"{k} in {v} fold(s)" for k, v in figures.get("ranking_chosen", {}).items())
    return ["<h2>Search quality (an index of this run's collection, every film scored by models "
            "that never saw it)</h2>",
            f"<p>{c['films']} films, {c['cues']} cues, {c['folds']} folds by film x "
            f"{c['repeats']}; queries with at least {c['min_relevant']} right cues; 95% "
            f"intervals from {c['n_boot']} film resamples. Ranking of mixes chosen inside the "
            f"folds: {html.escape(chosen)}.</p>",
            _table(genre.set_index(["query kind", "ranking"])),
            _table(similar.set_index("vectors"))]  # fmt: skip


def write_reports_index(reports: str | os.PathLike[str]) -> Path:
    """Write ``reports/index.html``: every run with its date, profile, data and best model."""
    from .runs import list_runs

    reports = Path(reports)
    runs = list_runs(reports)
    rows = []
    for _, run in runs.iterrows():
        folder = reports / run["run"]
        data = data_summary(folder)
        started = datetime.fromtimestamp(folder.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        best = run["best_model"] or ""
        score = run["best_macro_roc_auc"]
        rows.append({
            "run": f"<a href='{run['run']}/index.html'>{html.escape(run['run'])}</a>",
            "date": started,
            "profile": html.escape(str(run["profile"])),
            "status": html.escape(str(run["status"])),
            "data": f"{data['films']} films, {data['cues']} cues, {data['hours']:.1f} h"
            if data else "",
            "best model": html.escape(str(best)),
            "macro ROC-AUC": "" if pd.isna(score) else f"{score:.3f}",
            "figure": html.escape(str(run["figure"] or "")),
        })  # fmt: skip
    head = "".join(f"<th>{c}</th>" for c in (rows[0] if rows else {"run": 0}))
    body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in r.values()) + "</tr>" for r in rows)
    page = _page("filmgenre runs", f"<h1>filmgenre runs</h1><table><tr>{head}</tr>{body}</table>")
    target = reports / "index.html"
    target.write_text(page, encoding="utf-8")
    return target


def comparison_html(table: pd.DataFrame, a: str, b: str) -> str:
    """``filmgenre runs compare`` as a page."""
    frame = table.reset_index()
    return _page(f"filmgenre: {a} vs {b}",
                 f"<h1>{html.escape(a)} vs {html.escape(b)}</h1>" + _table(frame, 4))  # fmt: skip
