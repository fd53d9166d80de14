"""Stands in for TensorFlow where a test runs a machine without it (a GPU machine with JAX's
CUDA wheels only): put this folder first on PYTHONPATH and every ``import tensorflow`` of
that process and its children fails as it would there."""

raise ImportError("TensorFlow is hidden from this process (tests/support/without_tensorflow)")
