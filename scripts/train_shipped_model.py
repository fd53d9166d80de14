"""Train the model that ships inside the package on ../shared/realaudio/filmscore.

The same steps as the real profile's notebook 08 for one family (MFCC statistics + both
musicnn penultimate embeddings + the mean-difference head): film-grouped 5-fold
cross-validation repeated 3 times, per-genre Platt calibration cross-fitted on the
out-of-fold scores, then the final model on every film with the map fitted on all
out-of-fold scores folded into its output layer. Prints the cross-validated figures and
the calibration table; writes filmgenre/pretrained/filmscore_<family>/.

    .venv/bin/python scripts/train_shipped_model.py [--family combined_meandiff] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from filmgenre import runtime
from filmgenre.config import project_root
from filmgenre.data import build
from filmgenre.evaluation import crossval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="combined_meandiff")
    parser.add_argument("--out", help="model folder (default: pretrained/filmscore_<family>)")
    args = parser.parse_args()
    work = runtime.scratch_dir("filmgenre-shipped-")
    try:
        manifest = build.real_collection("filmscore", work / "dataset", progress=True)
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    print(f"{manifest.cues.film.nunique()} films, {len(manifest.cues)} cues, "
          f"{len(manifest.skipped)} file(s) skipped")
    study = crossval.CrossValidationRun(manifest, work, crossval.CVConfig(k=5, repeats=3),
                                        n_boot=1000, anchor="mfcc_logreg")
    study.run_models([args.family, "mfcc_logreg"], ensemble=False, progress=True)
    tables = study.score()
    print(tables["cue"].iloc[:, :3].round(3).to_string())
    print(tables["film (mean of cues)"].iloc[:, :3].round(3).to_string())
    print(study.calibrate().round(3).to_string())
    print(study.ece_per_genre(args.family).round(3).to_string())
    out = Path(args.out) if args.out else (project_root() / "filmgenre" / "pretrained"
                                           / f"filmscore_{args.family}")
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



if __name__ == "__main__":
    main()
