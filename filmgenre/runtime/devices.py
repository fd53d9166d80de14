"""How a model runs on this machine: the Keras backend's devices, a data-parallel scope over
them, the fastest safe precision policy, and seeds (each recorded in a model's config)."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the Keras backend in one call."""
    import keras

    keras.utils.set_random_seed(seed)


def auto_precision() -> str:
    """The fastest safe policy here: ``mixed_float16`` on a GPU, ``mixed_bfloat16`` on a
    CPU with native bfloat16 units (AVX-512 BF16 or AMX), else ``float32``."""
    if has_accelerator():
        return "mixed_float16"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "float32"
    return "mixed_bfloat16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "float32"


def accelerator_possible() -> bool:
    """Whether a Keras backend could find a GPU (or TPU) here, asked without importing one:
    on Linux only where a device node of one exists (NVIDIA's ``/dev/nvidia0``, AMD's
    ``/dev/kfd``, ``/dev/accel*``) and ``CUDA_VISIBLE_DEVICES`` does not hide NVIDIA's;
    elsewhere always (the backend is then asked). Starting TensorFlow only to hear "no GPU"
    costs a process about 5 s."""
    if sys.platform != "linux":
        return True
    dev = Path("/dev")
    nvidia = any(dev.glob("nvidia[0-9]*")) and os.environ.get("CUDA_VISIBLE_DEVICES") not in (
        "", "-1")  # fmt: skip
    return nvidia or (dev / "kfd").exists() or any(dev.glob("accel[0-9]*"))


def has_accelerator() -> bool:
    """Whether the Keras backend has a GPU here (no framework is imported where
    :func:`accelerator_possible` rules one out)."""
    return accelerator_possible() and bool(device_summary()["gpus"])


def device_summary() -> dict[str, object]:
    """Which backend and accelerators training will use."""
    import keras

    backend = keras.backend.backend()
    gpus: list[str] = []
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax

        gpus = [str(d) for d in jax.devices() if d.platform == "gpu"]
    elif backend == "torch":
        import torch

        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {
        "backend": backend,
        "gpus": gpus,
        "device": "GPU" if gpus else "CPU",
        "cpu_count": os.cpu_count(),
    }


def accelerator_memory() -> int | None:
    """Bytes of memory of the first GPU the Keras backend uses; None on a CPU. Where the
    backend does not say (TensorFlow), 16 GiB is assumed: the smallest card worth using."""
    if not has_accelerator():
        return None
    summary = device_summary()
    if summary["backend"] == "jax":
        import jax

        gpu = next(d for d in jax.devices() if d.platform == "gpu")
        stats = gpu.memory_stats() or {}
        return int(stats.get("bytes_limit", 16 << 30))
    if summary["backend"] == "torch":
        import torch

        return int(torch.cuda.get_device_properties(0).total_memory)
    return 16 << 30


def parallel_devices(mode: str = "auto") -> list[str]:
    """The devices a data-parallel run of ``mode`` ("auto", "all", "none") spreads over;
    one device or none means no distribution."""
    import keras

    if mode not in ("auto", "all", "none"):
        raise ValueError(f"unknown parallel mode {mode!r}; choose auto, all or none")
    if mode == "none":
        return []
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        kinds = ("GPU",) if mode == "auto" else ("GPU", "CPU")
        for kind in kinds:
            found = [d.name for d in tf.config.list_logical_devices(kind)]
            if len(found) > 1:
                return found
        return []
    if backend == "jax":
        import jax

        found = [d for d in jax.devices() if mode == "all" or d.platform == "gpu"]
        return [str(d) for d in found] if len(found) > 1 else []
    return []  # torch: one device (torch's DistributedDataParallel needs a launcher)


@contextmanager
def data_parallel(mode: str = "auto"):
    """Build, compile and fit models inside this to split each batch over
    :func:`parallel_devices`; yields the device names (empty: one device, no change)."""
    import keras

    devices = parallel_devices(mode)
    if not devices:
        yield []
        return
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.distribute.MirroredStrategy(devices).scope():
            yield devices
        return
    import jax

    wanted = set(devices)
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=[d for d in jax.devices() if str(d) in wanted])
    )
    try:
        yield devices
    finally:
        keras.distribution.set_distribution(previous)
