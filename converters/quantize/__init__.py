"""Quantization: int8 requantization parameters (lower.py), calibration (calibrate.py),
post-training int8 quantization of float graphs (int8.py) and int8 lookup tables
(tables.py)."""
from .calibrate import calibration_batches, collect_ranges
from .int8 import quantize_graph
from .lower import lower_int8

__all__ = ["lower_int8", "calibration_batches", "collect_ranges", "quantize_graph"]
