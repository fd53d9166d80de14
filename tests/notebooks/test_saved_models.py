"""The smoke run's saved models serve `filmgenre tag` from a fresh process, without
their notebooks (custom layers included); search refuses what an index cannot take."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli as _cli

from filmgenre.config import project_root

ROOT = project_root()


@pytest.mark.slow
def test_every_kind_of_saved_model_tags_new_audio(smoke_run):
    run = smoke_run
    # the saved model serves `filmgenre tag` without its notebook; an index takes cue-vector
    # models only, and search says so and what to use instead
    model = run / "models" / "study_cnn_logmel"
    cues = pd.read_csv(run / "dataset" / "manifest.csv")["path"].head(3).tolist()
    library = Path(cues[0]).parent.parent
    refused = _cli("search", "Romance Comedy", "--library", str(library), "--model", str(model))
    assert refused.returncode == 2 and "`filmgenre tag`" in refused.stderr, refused.stderr
    # every kind of saved model tags from a fresh process (custom layers included); one
    # process for all of them, so the suite pays TensorFlow's start-up once
    folders = sorted((run / "models").iterdir())
    kinds = ("+attention", "+gru", "musicnn_mlp", "musicnn_finetuned", "binary_ensemble",
             "combined_logreg_final", "combined_meandiff_final",
             "study_cnn_mfcc_final")  # fmt: skip
    chosen = [next(p for p in folders if kind in p.name and (p / "model.keras").is_file())
              for kind in kinds]  # fmt: skip
    script = (
        "import sys\nfrom filmgenre.cli import main\n"
        "cues = sys.argv[1].split('\\n')\n"
        "code = main(['tag', *cues, '--model', sys.argv[2]])\n"  # the table a person reads
        "print('exit', code, sys.argv[2], flush=True)\n"
        "for folder in sys.argv[3:]:\n"
        "    code = main(['tag', cues[0], '--model', folder, '--format', 'csv'])\n"
        "    print('exit', code, folder, flush=True)\n"
    )
    found = subprocess.run([sys.executable, "-c", script, "\n".join(cues), str(model),
                            *map(str, chosen)],
                           capture_output=True, text=True, timeout=1200,
                           env={**os.environ, "FILMGENRE_ROOT": str(ROOT)})  # fmt: skip
    assert found.returncode == 0, found.stderr[-2000:]
    first = found.stdout.split(f"exit 0 {model}")[0]  # study_cnn_logmel's table, 3 cues
    assert "Sci-Fi" in first and all(c in first for c in cues), found.stdout[-2000:]
    for folder in chosen:
        assert f"exit 0 {folder}" in found.stdout, (folder.name, found.stderr[-2000:])
    assert found.stdout.count("Drama") >= len(chosen)  # each printed its genre columns
