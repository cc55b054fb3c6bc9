"""Split computing: cut a converted model at a set of tensors into a head (device) and a
tail (edge server); see cut.py, and `edgec split`."""
from .cut import SplitResult, split_graph, write_split

__all__ = ["SplitResult", "split_graph", "write_split"]
