"""Graph passes run by edgec.convert, in order: constant folding, activation fusion,
dead-code removal, validation."""
from .fold import fold_constants
from .fuse import fuse_activations


def run_passes(graph):
    fold_constants(graph)
    fuse_activations(graph)
    graph.prune()
    graph.validate()
    return graph


__all__ = ["run_passes", "fold_constants", "fuse_activations"]
