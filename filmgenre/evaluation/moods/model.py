"""The mood model: linear maps from the cue-vector parts the index already computes to the
nine GEMS emotions (calibrated probabilities) and to valence and arousal (-1..1).

Every head is a ridge regression on standardised inputs, and averages and compositions of
linear maps are linear maps, so whatever family the cross-validation picks, the shipped
model is one matrix on the raw parts (:class:`LinearMap`) followed by a Platt map per
emotion. It needs NumPy only: no Keras, so scoring a library's tracks costs a matrix
product on vectors the build already holds.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...data.emotions import EMOTIONS, MOODS

#: the files of a mood model folder
WEIGHTS_FILE, CONFIG_FILE = "moods.npz", "config.json"


@dataclass
class LinearMap:
    """``y = sum over parts of x[part] @ weights[part] + bias``: a map from named cue-vector
    parts (``mfcc_stats``, ``musicnn:<checkpoint>:<layer>``) to ``k`` outputs."""

    weights: dict[str, np.ndarray]
    bias: np.ndarray

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.weights)

    def apply(self, blocks: dict[str, np.ndarray]) -> np.ndarray:
        """Outputs for rows of ``blocks`` (part -> (rows x dims) array)."""
        missing = [p for p in self.parts if p not in blocks]
        if missing:
            raise KeyError(f"the mood model reads {', '.join(missing)}, which were not given")
        out = np.zeros((len(blocks[self.parts[0]]), len(self.bias))) + self.bias
        for part, w in self.weights.items():
            out += np.asarray(blocks[part], np.float64) @ w
        return out

    def then(self, weights: np.ndarray, bias: np.ndarray) -> LinearMap:
        """This map followed by ``y @ weights + bias``."""
        return LinearMap({p: w @ weights for p, w in self.weights.items()},
                         self.bias @ weights + bias)  # fmt: skip


def total(maps: list[LinearMap]) -> LinearMap:
    """The sum of several maps' outputs, as one map over the union of their parts."""
    weights: dict[str, np.ndarray] = {}
    for m in maps:
        for part, w in m.weights.items():
            weights[part] = weights.get(part, 0.0) + w
    return LinearMap(weights, np.sum([m.bias for m in maps], axis=0))


def average(maps: list[LinearMap]) -> LinearMap:
    """The mean of several maps' outputs, as one map over the union of their parts."""
    summed = total(maps)
    return LinearMap({p: w / len(maps) for p, w in summed.weights.items()},
                     summed.bias / len(maps))  # fmt: skip


def ridge(blocks: dict[str, np.ndarray], y: np.ndarray, strength: float) -> LinearMap:
    """A ridge regression of ``y`` (rows x outputs) on the parts of ``blocks`` joined and
    standardised, the penalty ``strength`` times the number of input dimensions (one scale
    for every input width), folded back onto the raw parts. Solved in the dual when there
    are fewer rows than dimensions (hundreds of clips, thousands of dimensions)."""
    parts = list(blocks)
    x = np.hstack([np.asarray(blocks[p], np.float64) for p in parts])
    mean = x.mean(0)
    scale = x.std(0)
    scale[scale < 1e-6] = 1.0  # a dimension that never moves (a unit that never fires)
    z = (x - mean) / scale
    y = np.asarray(y, np.float64).reshape(len(x), -1)
    y_mean = y.mean(0)
    penalty = float(strength) * z.shape[1]
    if len(z) <= z.shape[1]:
        w = z.T @ np.linalg.solve(z @ z.T + penalty * np.eye(len(z)), y - y_mean)
    else:
        w = np.linalg.solve(z.T @ z + penalty * np.eye(z.shape[1]), z.T @ (y - y_mean))
    w = w / scale[:, None]
    bias = y_mean - mean @ w
    weights, start = {}, 0
    for p in parts:
        width = np.asarray(blocks[p]).shape[1]
        weights[p] = w[start : start + width]
        start += width
    return LinearMap(weights, bias)


@dataclass
class MoodModel:
    """Nine GEMS emotions and valence/arousal from cue-vector parts: ``raw = map(x)``; an
    emotion's probability is ``sigmoid(slope * raw + offset)`` (Platt, fitted on
    out-of-fold outputs), valence and arousal are ``raw`` clipped to -1..1."""

    map: LinearMap
    slope: np.ndarray  # per emotion
    offset: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def parts(self) -> tuple[str, ...]:
        return self.map.parts

    @property
    def key(self) -> str:
        """A digest of the weights and calibration: a mood stored with another key was
        made by another mood model."""
        h = hashlib.sha1()
        for part in self.parts:
            h.update(part.encode())
            h.update(np.ascontiguousarray(self.map.weights[part], np.float64).tobytes())
        for array in (self.map.bias, self.slope, self.offset):
            h.update(np.ascontiguousarray(array, np.float64).tobytes())
        return h.hexdigest()[:16]

    def predict(self, blocks: dict[str, np.ndarray]) -> np.ndarray:
        """(rows x 11) moods in :data:`MOODS` order: nine probabilities, then valence and
        arousal."""
        raw = self.map.apply(blocks)
        n = len(EMOTIONS)
        with np.errstate(over="ignore"):
            probabilities = 1.0 / (1.0 + np.exp(-(self.slope * raw[:, :n] + self.offset)))
        return np.hstack([probabilities, np.clip(raw[:, n:], -1.0, 1.0)]).astype(np.float32)

    def save(self, folder: str | os.PathLike[str]) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {f"w:{p}": w.astype(np.float32) for p, w in self.map.weights.items()}
        np.savez_compressed(folder / WEIGHTS_FILE, bias=self.map.bias, slope=self.slope,
                            offset=self.offset, **arrays)  # fmt: skip
        info = {**self.info, "moods": list(MOODS), "parts": list(self.parts)}
        (folder / CONFIG_FILE).write_text(json.dumps(info, indent=2, default=str) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> MoodModel:
        folder = Path(folder)
        if not (folder / WEIGHTS_FILE).is_file():
            raise FileNotFoundError(f"{folder}: no mood model here (no {WEIGHTS_FILE})")
        info = json.loads((folder / CONFIG_FILE).read_text())
        if tuple(info.get("moods", ())) != MOODS:
            raise ValueError(f"{folder}: a mood model of moods {info.get('moods')}; this "
                             f"filmgenre reads {list(MOODS)}")  # fmt: skip
        with np.load(folder / WEIGHTS_FILE) as z:
            weights = {p: z[f"w:{p}"].astype(np.float64) for p in info["parts"]}
            model = cls(LinearMap(weights, z["bias"]), z["slope"], z["offset"], info)
        return model

    def describe(self, folder: str | os.PathLike[str] | None = None) -> dict:
        """What an index records about the mood model that scored it."""
        return {"folder": None if folder is None else str(folder),
                "name": self.info.get("name"), "key": self.key, "moods": list(MOODS),
                "trained_on": self.info.get("trained_on"),
                "cross_validation": self.info.get("cross_validation"),
                "outputs": self.info.get("outputs")}  # fmt: skip




#: the mood model that ships with the package (``scripts/train_mood_model.py`` makes it)
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "pretrained" / "moods_emotify_fme24"


def load_moods(which: str | os.PathLike[str] | None = "shipped"
               ) -> tuple[MoodModel | None, Path | None]:  # fmt: skip
    """(model, folder) of a mood model: ``"shipped"`` (None, None where the package has
    none), a folder, or None for no mood model."""
    if which is None:
        return None, None
    folder = SHIPPED_DIR if str(which) == "shipped" else Path(which)
    if str(which) == "shipped" and not (folder / WEIGHTS_FILE).is_file():
        return None, None
    return MoodModel.load(folder), folder
