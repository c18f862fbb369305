"""top_k: the k largest values, descending, ties broken by the lower index, on both of its paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from quals.search.base import SMALL_K, top_k

values = st.lists(st.sampled_from([-np.inf, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0]), min_size=1, max_size=40)


@settings(max_examples=400, deadline=None)
@given(values, st.integers(1, 2 * SMALL_K + 4), st.sampled_from([np.float32, np.float64]))
def test_top_k_equals_a_stable_full_sort(xs, k, dtype):
    x = np.asarray(xs, dtype=dtype)
    expected = np.lexsort((np.arange(x.size), -x))[: min(k, x.size)]
    assert top_k(x, k).tolist() == expected.tolist()


@pytest.mark.parametrize("seed", range(12))
def test_top_k_of_a_beams_by_vocabulary_array_equals_a_stable_full_sort(seed):
    """Arrays large enough for the block-maxima prefilter: many ties, -inf columns and rows, k up to 2 x 60."""
    rng = np.random.default_rng(seed)
    rows, vocab = int(rng.integers(2, 61)), int(rng.choice([4099, 30522, 50265]))
    x = rng.standard_normal((rows, vocab)).astype(np.float32)
    if seed % 3 == 0:
        x = np.round(x * 4) / 4  # ties everywhere, at the k-th value too
    if seed % 4 == 1:
        x[:, rng.integers(0, vocab, size=vocab // 3)] = -np.inf
    if seed % 5 == 2:
        x[: rows // 2] = -np.inf  # rows with nothing left
    x[:, 0] = -np.inf  # pad
    flat = x.reshape(-1)
    for k in (9, 2 * rows, 120, 2 * rows * 3):
        expected = np.lexsort((np.arange(flat.size), -flat))[: min(k, flat.size)]
        assert top_k(flat, k).tolist() == expected.tolist(), (seed, k)
