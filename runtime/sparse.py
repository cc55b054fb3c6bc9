"""Block-sparse weights (format.h, SPARSE_FULLY_CONNECTED): the `_ref` pack and unpack of
the CSR-of-blocks format, in plain numpy, the definition the C kernels and the converter
follow.

A dense [N, K] weight with blocks of block = (bh, bw) in {(1, 4), (4, 1)} is a grid of
[N / bh, K / bw] blocks; the nonzero blocks are stored row by row:
  values  [nnzb, bh * bw]  block entries, row-major inside a block
  cols    int32[nnzb]      block column, strictly increasing within a block row
  rowptr  int32[N/bh + 1]  block row r holds blocks rowptr[r] .. rowptr[r+1]-1
"""
from __future__ import annotations

import numpy as np

BLOCKS = {"1x4": (1, 4), "4x1": (4, 1)}


def block_shape(block) -> tuple:
    """'1x4' / '4x1' / (bh, bw) -> (bh, bw); anything else is a ValueError."""
    bs = BLOCKS.get(block, None) if isinstance(block, str) else tuple(int(v) for v in block)
    if bs not in BLOCKS.values():
        raise ValueError(f"sparse block {block!r}: choose 1x4 or 4x1")
    return bs


def _grid(w: np.ndarray, bs) -> np.ndarray:
    """[N, K] -> [N/bh, K/bw, bh*bw] blocks."""
    bh, bw = bs
    n, k = w.shape
    if n % bh or k % bw:
        raise ValueError(f"weights [{n}, {k}] are not a whole number of {bh}x{bw} blocks")
    return w.reshape(n // bh, bh, k // bw, bw).transpose(0, 2, 1, 3).reshape(n // bh, k // bw, bh * bw)


def pack_block_csr_ref(w: np.ndarray, block="1x4"):
    """Dense [N, K] -> (values, cols, rowptr) keeping every block with a nonzero entry.
    A matrix with no nonzero block keeps block (0, 0), so values is never empty."""
    bs = block_shape(block)
    g = _grid(np.asarray(w), bs)
    keep = np.any(g != 0, axis=2)
    if not keep.any():
        keep[0, 0] = True
    rows, cols = np.nonzero(keep)  # row-major: columns ascend within a row
    rowptr = np.zeros(g.shape[0] + 1, np.int32)
    np.cumsum(np.bincount(rows, minlength=g.shape[0]), out=rowptr[1:])
    return np.ascontiguousarray(g[rows, cols]), cols.astype(np.int32), rowptr


def unpack_block_csr_ref(values: np.ndarray, cols: np.ndarray, rowptr: np.ndarray, shape, block="1x4"):
    """(values, cols, rowptr) -> dense [N, K]; checks the CSR as the C prepare does."""
    bh, bw = block_shape(block)
    n, k = (int(d) for d in shape)
    if n % bh or k % bw:
        raise ValueError(f"weights [{n}, {k}] are not a whole number of {bh}x{bw} blocks")
    rows, bcols = n // bh, k // bw
    values, cols, rowptr = np.asarray(values), np.asarray(cols).ravel(), np.asarray(rowptr).ravel()
    nnzb = len(cols)
    if values.shape != (nnzb, bh * bw) or len(rowptr) != rows + 1:
        raise ValueError(f"block CSR: values {values.shape}, {nnzb} columns, {len(rowptr)} row pointers do not fit "
                         f"[{n}, {k}] in {bh}x{bw} blocks")
    if rowptr[0] != 0 or rowptr[-1] != nnzb or np.any(np.diff(rowptr) < 0):
        raise ValueError("malformed block CSR: row pointers must run from 0 to nnzb without decreasing")
    if np.any(cols < 0) or np.any(cols >= bcols):
        raise ValueError(f"malformed block CSR: a block column is outside [0, {bcols})")
    row_of = np.repeat(np.arange(rows), np.diff(rowptr))
    if np.any((np.diff(cols) <= 0) & (row_of[1:] == row_of[:-1])):
        raise ValueError("malformed block CSR: columns are not strictly increasing within a row")
    g = np.zeros((rows, bcols, bh * bw), values.dtype)
    g[row_of, cols] = values
    return g.reshape(rows, bcols, bh, bw).transpose(0, 2, 1, 3).reshape(n, k)


def prune_blocks_ref(w: np.ndarray, sparsity: float, block="1x4") -> np.ndarray:
    """Magnitude pruning by blocks: zero the fraction `sparsity` of blocks with the smallest
    L1 norm (ties broken by position, so the result is deterministic); keeps >= 1 block."""
    bs = block_shape(block)
    g = _grid(np.asarray(w), bs).copy()
    norms = np.abs(g.astype(np.float64)).sum(axis=2).ravel()
    drop = min(int(round(sparsity * norms.size)), norms.size - 1)
    order = np.argsort(norms, kind="stable")[:drop]
    flat = g.reshape(-1, g.shape[2])
    flat[order] = 0
    bh, bw = bs
    n, k = w.shape
    return g.reshape(n // bh, k // bw, bh, bw).transpose(0, 2, 1, 3).reshape(n, k)
