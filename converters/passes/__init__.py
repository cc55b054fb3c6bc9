"""Graph passes run by edgec.convert, in order: constant folding, bias-add folding,
activation fusion, dead-code removal, validation."""
from .bias_add import fold_bias_adds
from .fold import fold_constants
from .fuse import fuse_activations


def run_passes(graph):
    fold_constants(graph)
    fold_bias_adds(graph)
    fuse_activations(graph)
    graph.prune()
    graph.validate()
    return graph


__all__ = ["run_passes", "fold_constants", "fold_bias_adds", "fuse_activations"]
