"""XNOR-popcount: ±1 dot products and W1A1 convolutions on packed bits.

With a, w ∈ {−1, +1}^K stored as bits (1 for +1), their dot product is the number of agreeing
positions minus the disagreeing ones:

    a·w = K − 2·popcount(a XOR w)                          (XNOR-Net §3.2, BinaryNet §1.3)

:func:`xnor_gemm_reference` is that formula as one broadcast; :func:`xnor_gemm` the same
accumulated one 64-bit word column at a time over tiles of rows (PERF.md: the broadcast form
was ~5× slower than the float GEMM). :class:`BinaryConvWeights` is a W1A1 convolution: the
input's sign bits packed along the channels of every pixel, windows taken over those words,
and the zero padding (which has no ±1 code) handled by padding with +1 and subtracting the
surplus Σ of w over the padded positions of each window once (Larq Compute Engine's padding
correction). Channel bits beyond C are 0 in both operands, so they never disagree.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..nn.im2col import pad2d


def _word_dtype(nbytes: int):
    return {1: np.uint8, 2: np.uint16, 4: np.uint32}.get(nbytes, np.uint64)


def pack_last_axis(bits: np.ndarray) -> np.ndarray:
    """Bool array (..., C) → words (..., ⌈C/w⌉): bit c of the little-endian packing is 1[bits[c]];
    the word is uint8/16/32 when ⌈C/8⌉ is 1/2/4 bytes, else uint64 (channel bits beyond C are 0)."""
    b = np.packbits(bits, axis=-1, bitorder="little")
    nbytes = b.shape[-1]
    if nbytes not in (1, 2, 4):
        extra = (-nbytes) % 8
        if extra:
            b = np.concatenate([b, np.zeros((*b.shape[:-1], extra), np.uint8)], axis=-1)
    return np.ascontiguousarray(b).view(_word_dtype(nbytes))


def xnor_gemm_reference(a: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """dot[m, o] = K − 2·popcount(a[m] XOR w[o]), a (M, words), w (O, words): one broadcast."""
    return k - 2 * np.bitwise_count(a[:, None, :] ^ w[None, :, :]).sum(axis=-1, dtype=np.int32)


def as_uint64_rows(words: np.ndarray) -> np.ndarray:
    """(M, n) words of any width → (M, ⌈bytes/8⌉) uint64, zero bytes appended. Popcounts do not
    care where a bit sits, only that both operands use one layout, so regrouping a row of
    small per-pixel words into 64-bit words cuts the word operations (16 channels × 9 taps:
    9 uint16 words become 3 uint64 words)."""
    b = np.ascontiguousarray(words).view(np.uint8).reshape(words.shape[0], -1)
    extra = (-b.shape[1]) % 8
    if extra:
        b = np.concatenate([b, np.zeros((b.shape[0], extra), np.uint8)], axis=1)
    return b.view(np.uint64)


def xnor_gemm(a: np.ndarray, w: np.ndarray, k: int, tile: int = 1024) -> np.ndarray:
    """The same as :func:`xnor_gemm_reference`, accumulating one word column at a time over
    tiles of ``tile`` rows into preallocated counters (they stay in cache; no (M, O, words)
    temporary). Rows are regrouped into uint64 words first (:func:`as_uint64_rows`)."""
    a, w = as_uint64_rows(a), as_uint64_rows(w)
    m, words = a.shape
    o = w.shape[0]
    out = np.empty((o, m), dtype=np.int32)
    at = np.ascontiguousarray(a.T)                               # (words, M): rows innermost
    counter = np.uint16 if k < 2**16 else np.uint32
    x, count, acc = (np.empty((o, tile), dt) for dt in (np.uint64, np.uint8, counter))
    for lo in range(0, m, tile):                                 # tiles of rows, not pixels one by one
        n = min(tile, m - lo)
        xr, cr, ar = x[:, :n], count[:, :n], acc[:, :n]
        ar[...] = 0
        for j in range(words):                                   # ⌈K/64⌉ word columns
            np.bitwise_xor(w[:, j, None], at[j, None, lo:lo + n], out=xr)   # (O, tile)
            np.bitwise_count(xr, out=cr)
            np.add(ar, cr, out=ar)
        np.subtract(k, 2 * ar.astype(np.int32), out=out[:, lo:lo + n])
    return out.T

# ------------------------------------------------------------ W1A1 conv


class BinaryConvWeights:
    """A W1A1 convolution's weights as per-pixel channel words, and its padding correction."""

    def __init__(self, codes: np.ndarray, shape, stride, padding):
        o, c, kh, kw = shape
        signs = codes.reshape(o, c, kh, kw)
        self.words = pack_last_axis(signs.transpose(0, 2, 3, 1) > 0).reshape(o, -1)   # (O, kh·kw·wpp)
        self.sum_over_c = signs.sum(axis=1, dtype=np.int32).reshape(o, kh * kw)     # Σ_c w[o, c, i, j]
        self.shape, self.stride, self.padding = (o, c, kh, kw), stride, padding
        self.k = c * kh * kw
        self._corrections = {}

    def correction(self, h: int, w: int) -> np.ndarray:
        """(Ho·Wo, O): Σ of w over the window positions that fall on the padding."""
        if (h, w) not in self._corrections:
            _, _, kh, kw = self.shape
            (sh, sw), (ph, pw) = self.stride, self.padding
            ring = pad2d(np.zeros((1, 1, h, w), np.int32), ph, pw, value=1)
            windows = sliding_window_view(ring[0, 0], (kh, kw))[::sh, ::sw]          # (Ho, Wo, kh, kw)
            self._corrections[(h, w)] = windows.reshape(-1, kh * kw) @ self.sum_over_c.T
        return self._corrections[(h, w)]

    def __call__(self, x: np.ndarray, gemm=xnor_gemm) -> np.ndarray:
        """Integer a·w of every window, (N, O, Ho, Wo), for float x whose signs are the input."""
        o, c, kh, kw = self.shape
        (sh, sw), (ph, pw) = self.stride, self.padding
        n, _, h, w = x.shape
        # the +1 bit of quant.functional.sign is 1[x ≥ 0] (sign(0) = +1); compared on the
        # contiguous input, then laid out channels-last for packing
        words = pack_last_axis((x >= 0).transpose(0, 2, 3, 1))
        if ph or pw:
            ones = pack_last_axis(np.ones((1, 1, 1, c), bool))[0, 0]
            padded = np.empty((n, h + 2 * ph, w + 2 * pw, words.shape[-1]), words.dtype)
            padded[...] = ones
            padded[:, ph:ph + h, pw:pw + w] = words
            words = padded
        windows = sliding_window_view(words, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]  # (N, Ho, Wo, wpp, kh, kw)
        ho, wo = windows.shape[1:3]
        rows = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, -1)
        dot = gemm(rows, self.words, self.k).reshape(n, ho * wo, o)
        if ph or pw:
            dot = dot - self.correction(h, w)[None]
        return dot.transpose(0, 2, 1).reshape(n, o, ho, wo)


__all__ = ["BinaryConvWeights", "as_uint64_rows", "pack_last_axis", "xnor_gemm", "xnor_gemm_reference"]
