"""Train the model that ships inside the package on ../shared/realaudio/filmscore.

The same steps as the real profile's notebook 08 for one family (MFCC statistics + both
musicnn penultimate embeddings + the mean-difference head): film-grouped 5-fold
cross-validation repeated 3 times, per-genre Platt calibration cross-fitted on the
out-of-fold scores, then the final model on every film with the map fitted on all
out-of-fold scores folded into its output layer. Prints the cross-validated figures and
the calibration table; writes filmgenre/pretrained/filmscore_<family>/. Then learns the
model's similarity space (filmgenre.library.similarity: settings chosen by 5-fold
cross-validation over the films) and saves it beside the model as similarity.npz
(``--similarity-only`` redoes just that step for the folder that is there).

    .venv/bin/python scripts/train_shipped_model.py [--family combined_meandiff] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from filmgenre.config import project_root
from filmgenre.data import assemble
from filmgenre.evaluation.crossval import folds, vectors
from filmgenre.evaluation.crossval import study as cv_study
from filmgenre.runtime import scratch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="combined_meandiff")
    parser.add_argument("--out", help="model folder (default: pretrained/filmscore_<family>)")
    parser.add_argument("--similarity-only", action="store_true",
                        help="only learn the similarity space of the model folder there")
    args = parser.parse_args()
    work = scratch.scratch_dir("filmgenre-shipped-")
    try:
        manifest = assemble.real_collection("filmscore", work / "dataset", progress=True)
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    print(f"{manifest.cues.film.nunique()} films, {len(manifest.cues)} cues, "
          f"{len(manifest.skipped)} file(s) skipped")
    out = Path(args.out) if args.out else (project_root() / "filmgenre" / "pretrained"
                                           / f"filmscore_{args.family}")
    if args.similarity_only:
        fit_similarity(manifest, out, args.family)
        return
    study = cv_study.CrossValidationRun(manifest, work, folds.CVConfig(k=5, repeats=3),
                                        n_boot=1000, anchor="mfcc_logreg")
    study.run_models([args.family, "mfcc_logreg"], ensemble=False, progress=True)
    tables = study.score()
    print(tables["cue"].iloc[:, :3].round(3).to_string())
    print(tables["film (mean of cues)"].iloc[:, :3].round(3).to_string())
    print(study.calibrate().round(3).to_string())
    print(study.ece_per_genre(args.family).round(3).to_string())
    finals = study.fit_finals([args.family])
    folder = finals.loc[args.family, "folder"]
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(work / folder, out)
    info = json.loads((out / "config.json").read_text())
    info["name"] = out.name
    info["trained_on"]["audio_dir"] = ("../shared/realaudio/filmscore (FME-24 film-score "
                                       "excerpts, see its MANIFEST.md)")
    info["cross_validation"]["film_macro_roc_auc"] = study.levels["film (mean of cues)"][
        args.family]["metrics"]["macro_roc_auc"]
    (out / "config.json").write_text(json.dumps(info, indent=2, default=str))
    print(f"wrote {out}")
    fit_similarity(manifest, out, args.family)


def fit_similarity(manifest, out: Path, family: str) -> None:
    """The model's similarity space, learned on its training films with the model's own
    scores, its settings chosen by film-grouped 5-fold cross-validation; saved in ``out``."""
    import numpy as np

    from filmgenre.library import similarity
    from filmgenre.predict import load_trained

    cues = manifest.cues.reset_index(drop=True)
    x = vectors.cue_vectors(manifest, vectors.FAMILIES[family].parts, progress=True)
    model, _ = load_trained(out)
    scores = np.asarray(model.predict(x, verbose=0))
    film = cues["film"].astype(str).to_numpy()
    track = (cues["film"].astype(str) + "/" + cues["track"].astype(str)).to_numpy()
    labels = cues[list(manifest.genres)].to_numpy().astype(bool)
    fold_of = folds.assign_folds(cues, manifest.genres, 5, 0)
    settings, rows = similarity.choose(x, film, scores, track, labels, fold_of)
    best = max(rows, key=lambda r: r["criterion"])
    space = similarity.fit(x, film, scores, **settings)
    space.settings.update({"chosen_by": "film-grouped 5-fold cross-validation on the training "
                                        "films", "cv_same_film": round(best["same_film"], 3),
                           "cv_agreement": round(best["agreement"], 3)})  # fmt: skip
    print(f"similarity space: {settings}; cross-validated same film's other track in the "
          f"top 10 {best['same_film']:.3f}, genre agreement {best['agreement']:.3f}")
    print(f"wrote {space.save(out)}")


if __name__ == "__main__":
    main()
