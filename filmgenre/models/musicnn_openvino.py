"""musicnn's (and its VGG's) embedding pass compiled by OpenVINO for the CPU, from the same
checkpoint.

The Keras port (:mod:`.musicnn`) runs the two pretrained networks at about 45 patches/s on
two AVX-512 cores under TensorFlow, and they were 80% of an index build. OpenVINO's CPU
kernels run the same graph at about 58 patches/s in float32 (outputs within 1e-5 of the
Keras ones, relative) and about 90 in bfloat16 where the CPU has bfloat16 units
(``benchmarks/bench_index_build.py --engines`` measures both on real cues). The graph is
written here layer by layer from the checkpoint's arrays (:func:`.musicnn.read_checkpoint`),
in the order :func:`.musicnn.build_musicnn` gives, so no TensorFlow or ONNX is involved.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..data.musicnn_input import N_MELS, PATCH_FRAMES

#: Keras's (and TF-1's) batch-normalisation epsilon, as the checkpoint was trained with
BN_EPSILON = 1e-3

#: precisions OpenVINO is asked for (its ``INFERENCE_PRECISION_HINT``)
PRECISIONS = {"float32": "f32", "bfloat16": "bf16"}


def available() -> bool:
    """Whether the ``openvino`` package imports here."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


class _Checkpoint:
    """A checkpoint's arrays handed to an OpenVINO graph as it is written, each marked used,
    so a graph that leaves one unused fails (as a port with a misplaced layer would)."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights, self.used = weights, set()

    def array(self, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        self.used.add(name)
        a = np.asarray(self.weights[name], np.float32)
        return a if shape is None else a.reshape(shape)

    def batch_norm(self, x, name: str, shape: tuple[int, ...]):
        """Keras's inference-mode batch normalisation, folded into a scale and a shift."""
        import openvino.opset13 as ops

        gamma, beta, mean, variance = (self.array(f"{name}/{n}") for n in (
            "gamma", "beta", "moving_mean", "moving_variance"))  # fmt: skip
        scale = gamma / np.sqrt(variance + BN_EPSILON)
        shift = beta - mean * scale
        return ops.add(ops.multiply(x, ops.constant(scale.reshape(shape))),
                       ops.constant(shift.reshape(shape)))  # fmt: skip

    def dense(self, x, name: str):
        import openvino.opset13 as ops

        return ops.add(ops.matmul(x, ops.constant(self.array(f"{name}/kernel")), False, False),
                       ops.constant(self.array(f"{name}/bias")[None]))  # fmt: skip

    def check_all_used(self) -> None:
        unused = sorted(set(self.weights) - self.used)
        if unused:
            raise ValueError(f"the OpenVINO graph leaves checkpoint variables unused: {unused}")


def graph(weights: dict[str, np.ndarray]):
    """The embedding graph (outputs taggram, penultimate, pool: :data:`EMBEDDING_LAYERS` of
    ``training.transfer``) as an OpenVINO model, every array of ``weights`` used once."""
    import openvino as ov
    import openvino.opset13 as ops

    checkpoint = _Checkpoint(weights)
    array, batch_norm = checkpoint.array, checkpoint.batch_norm

    def conv(x, name: str, kernel, begin: list[int], end: list[int], channels_shape):
        ones = [1] * len(begin)
        y = ops.convolution(x, ops.constant(kernel), ones, begin, end, ones)
        return ops.relu(ops.add(y, ops.constant(array(f"{name}/bias").reshape(channels_shape))))

    patch = ops.parameter([-1, PATCH_FRAMES, N_MELS], np.float32, name="patch")
    x = ops.unsqueeze(patch, ops.constant(np.array([1], np.int64)))  # (n, 1, frames, mels)
    x = batch_norm(x, "batch_normalization", (1, 1, 1, 1))
    front = []
    for i, name in enumerate(("conv2d", "conv2d_1")):  # timbral: 7 frames x 38 / 67 bands
        kernel = array(f"{name}/kernel").transpose(3, 2, 0, 1)  # (out, in, time, freq)
        t = conv(x, name, np.ascontiguousarray(kernel), [3, 0], [3, 0], (1, -1, 1, 1))
        front.append(batch_norm(t, f"batch_normalization_{i + 1}", (1, -1, 1, 1)))
    for i, length in enumerate((128, 64, 32)):  # temporal, "same" padding as Keras pads it
        name = f"conv2d_{i + 2}"
        kernel = array(f"{name}/kernel", (length, 1, 1, -1)).transpose(3, 2, 0, 1)
        before = (length - 1) // 2
        t = conv(x, name, np.ascontiguousarray(kernel), [before, 0], [length - 1 - before, 0],
                 (1, -1, 1, 1))  # fmt: skip
        front.append(batch_norm(t, f"batch_normalization_{i + 3}", (1, -1, 1, 1)))
    over_frequency = ops.constant(np.array([3], np.int64))
    frontend = ops.concat([ops.reduce_max(t, over_frequency, False) for t in front], 1)

    def mid(t, i: int, channels: int):
        name = f"conv2d_{i + 5}"
        kernel = array(f"{name}/kernel", (7, channels, -1)).transpose(2, 1, 0)
        t = conv(t, name, np.ascontiguousarray(kernel), [3], [3], (1, -1, 1))
        return batch_norm(t, f"batch_normalization_{i + 6}", (1, -1, 1))

    m1 = mid(frontend, 0, frontend.get_output_partial_shape(0)[1].get_length())
    m2 = ops.add(mid(m1, 1, 64), m1)
    m3 = ops.add(mid(m2, 2, 64), m2)
    midend = ops.concat([frontend, m1, m2, m3], 1)  # (n, 753, frames)
    over_time = ops.constant(np.array([2], np.int64))
    last = ops.constant(np.array([2], np.int64))
    stacked = ops.concat([ops.unsqueeze(ops.reduce_max(midend, over_time, False), last),
                          ops.unsqueeze(ops.reduce_mean(midend, over_time, False), last)], 2)
    pool = ops.reshape(stacked, ops.constant(np.array([0, -1], np.int64)), True)  # interleaved
    x = ops.relu(checkpoint.dense(batch_norm(pool, "batch_normalization_9", (1, -1)), "dense"))
    penultimate = batch_norm(x, "batch_normalization_10", (1, -1))
    taggram = ops.sigmoid(checkpoint.dense(penultimate, "dense_1"))
    checkpoint.check_all_used()
    return ov.Model([taggram, penultimate, pool], [patch], "musicnn")


def vgg_graph(weights: dict[str, np.ndarray], pools) -> object:
    """A VGG checkpoint's embedding graph (outputs taggram, pool5: ``VGG_EMBEDDING_LAYERS``
    of ``training.transfer``), ``pools`` its (window, stride) per layer."""
    import openvino as ov
    import openvino.opset13 as ops

    checkpoint = _Checkpoint(weights)
    channels = (1, -1, 1, 1)

    patch = ops.parameter([-1, PATCH_FRAMES, N_MELS], np.float32, name="patch")
    x = ops.unsqueeze(patch, ops.constant(np.array([1], np.int64)))  # (n, 1, frames, mels)
    x = checkpoint.batch_norm(x, "batch_normalization", channels)
    for i, (window, stride) in enumerate(pools, start=1):
        kernel = np.ascontiguousarray(checkpoint.array(f"{i}CNN/kernel").transpose(3, 2, 0, 1))
        x = ops.convolution(x, ops.constant(kernel), [1, 1], [1, 1], [1, 1], [1, 1])
        x = ops.relu(ops.add(x, ops.constant(checkpoint.array(f"{i}CNN/bias", channels))))
        x = checkpoint.batch_norm(x, f"batch_normalization_{i}", channels)
        x = ops.max_pool(x, list(stride), [1, 1], [0, 0], [0, 0], list(window)).output(0)
    # TF-1 flattened (time, frequency, channel)
    x = ops.transpose(x, ops.constant(np.array([0, 2, 3, 1], np.int64)))
    pool5 = ops.reshape(x, ops.constant(np.array([0, -1], np.int64)), True)
    taggram = ops.sigmoid(checkpoint.dense(pool5, "dense"))
    checkpoint.check_all_used()
    return ov.Model([taggram, pool5], [patch], "vgg")


Forward = Callable[[np.ndarray], list[np.ndarray]]


def compile_pass(model: str, precision: str = "float32", threads: int | None = None) -> Forward:
    """The embedding pass of checkpoint ``model`` compiled for this CPU: a function from
    (n, frames, mels) float32 patches to its embedding layers ([taggram, penultimate, pool]
    for musicnn, [taggram, pool5] for a VGG)."""
    import openvino as ov

    from .musicnn import VGG_POOLS, architecture, read_checkpoint

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {sorted(PRECISIONS)}")
    # no pinning: OpenVINO pins its threads to the first cores, so two single-threaded
    # processes (Dask workers) shared one core and two workers ran no faster than one
    config = {"INFERENCE_PRECISION_HINT": PRECISIONS[precision], "PERFORMANCE_HINT": "LATENCY",
              "ENABLE_CPU_PINNING": False}  # fmt: skip
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    weights = read_checkpoint(model)
    network = vgg_graph(weights, VGG_POOLS[model]) if architecture(model) == "vgg" else graph(
        weights)  # fmt: skip
    compiled = ov.Core().compile_model(network, "CPU", config)
    request = compiled.create_infer_request()
    outputs = compiled.outputs

    def forward(x: np.ndarray) -> list[np.ndarray]:
        result = request.infer({0: np.ascontiguousarray(x, np.float32)})
        return [np.array(result[o], np.float32) for o in outputs]

    return forward
