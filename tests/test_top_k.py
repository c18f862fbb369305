"""top_k: the k largest values, descending, ties broken by the lower index, on both of its paths."""

from __future__ import annotations

import numpy as np
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
