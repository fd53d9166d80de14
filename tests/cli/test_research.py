"""The research commands' own behaviour (the pipeline's runs are tested in tests/reporting and
tests/notebooks)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from filmgenre.cli import main
from filmgenre.models import musicnn


def test_weights_caches_every_checkpoint_for_backends_without_tensorflow(tmp_path, monkeypatch,
                                                                          capsys):  # fmt: skip
    monkeypatch.setenv("FILMGENRE_DATA", str(tmp_path / "data"))
    assert main(["weights"]) == 0
    printed = capsys.readouterr().out
    tag_layers = {"MTT_musicnn": ("dense_1", 200), "MSD_musicnn": ("dense_1", 200),
                  "MTT_vgg": ("dense", 256), "MSD_vgg": ("dense", 256)}  # fmt: skip
    for model, (layer, inputs) in tag_layers.items():
        cache = tmp_path / "data" / "interim" / "pretrained" / f"{model}.npz"
        assert f"{model}: {cache}" in printed and cache.is_file()
        with np.load(cache) as arrays:
            assert arrays[f"{layer}__kernel"].shape == (inputs, 50)
    # without the cache and without TensorFlow, the error says what to run and copy
    monkeypatch.setenv("FILMGENRE_DATA", str(tmp_path / "elsewhere"))
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # import fails, as where absent
    with pytest.raises(musicnn.MusicnnUnavailable, match="filmgenre weights"):
        musicnn.read_checkpoint("MTT_musicnn")
    assert main(["weights"]) == 1
    assert "filmgenre weights" in capsys.readouterr().err
