"""The musicnn wheel's networks as their authors saved them: each checkpoint's own TF-1
graph (its ``.meta``) run in a TensorFlow-1 session with the checkpoint's variables, the
reference the Keras and OpenVINO ports are held to. Only the ops that compute the wanted
tensors are imported (the training graph's gradient ops do not import in TensorFlow 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: the original graph's tensors: the 50 tag probabilities, and a VGG's last pooling
TAGGRAM, VGG_POOL5 = "model/Sigmoid:0", "model/max_pooling2d_4/MaxPool:0"


def original_outputs(folder: Path, tensors: list[str], patches: np.ndarray) -> list[np.ndarray]:
    """``tensors`` of the checkpoint in ``folder`` for (n, frames, mels) ``patches``, with
    the graph's training switch off (batch norms on their moving statistics, no dropout)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    meta.ParseFromString((folder / ".meta").read_bytes())
    graph_def = tf.compat.v1.graph_util.extract_sub_graph(
        meta.graph_def, [t.split(":")[0] for t in tensors])
    for node in graph_def.node:
        node.attr.pop("_output_shapes", None)  # stale shapes that newer TensorFlow rejects
    reader = tf.compat.v1.train.NewCheckpointReader(str(folder) + "/")
    feed = {}
    for node in graph_def.node:
        if node.name.endswith("/read"):  # a variable's value, fed from the checkpoint
            feed[f"{node.name}:0"] = reader.get_tensor(node.name.removesuffix("/read"))
        elif node.op == "Placeholder":  # the patches, and the boolean training switch
            is_switch = node.attr["dtype"].type == tf.bool.as_datatype_enum
            feed[f"{node.name}:0"] = False if is_switch else patches
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            return session.run(tensors, feed)
