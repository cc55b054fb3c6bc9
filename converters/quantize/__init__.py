"""Quantization: int8 requantization parameters (lower.py) and, next, post-training
quantization of float graphs (calibrate, int8, low-bit, mixed)."""
from .lower import lower_int8

__all__ = ["lower_int8"]
