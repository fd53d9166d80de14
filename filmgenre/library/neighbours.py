"""Approximate nearest neighbours for large libraries (usearch's HNSW graph, cosine).

Below :data:`ANN_MIN_TRACKS` tracks an exact scan of the unit vectors (one matrix-vector
product) is fast enough and is what search does: ``benchmarks/bench_search.py`` measured it
at 1M tracks well inside the 200 ms goal, where the graph found only about half of the true
ten nearest neighbours of random 64-d vectors. Above it, the graph is built when the index
is packed and stored in it; the benchmark prints its recall@10 against the exact scan.
"""

from __future__ import annotations

import numpy as np

#: libraries at least this large get an approximate index for similarity queries
ANN_MIN_TRACKS = 5_000_000


def build_ann(vectors: np.ndarray, ids: np.ndarray) -> bytes:
    """An HNSW graph of ``vectors`` keyed by track id, serialised to bytes."""
    from usearch.index import Index

    graph = Index(ndim=vectors.shape[1], metric="cos", dtype="f32", connectivity=16,
                  expansion_add=128, expansion_search=256)  # fmt: skip
    graph.add(np.asarray(ids, np.uint64), np.ascontiguousarray(vectors, np.float32))
    return bytes(graph.save())


def restore(data: bytes):
    from usearch.index import Index

    return Index.restore(bytearray(data))


def ann_search(graph, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(track ids, cosine similarities) of the ``k`` approximate nearest neighbours."""
    found = graph.search(np.require(vector, np.float32, ["C", "A"]), k)
    keys = np.asarray(found.keys, np.int64).reshape(-1)
    distances = np.asarray(found.distances, np.float32).reshape(-1)
    return keys, 1.0 - distances
