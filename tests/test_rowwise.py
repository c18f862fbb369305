"""The row-parallel log-softmax gives the single-threaded numbers bit for bit, whatever the split."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest
from quals.rowwise import MIN_SPLIT, RowThreads, log_softmax, pick_log_probs


def logits(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 6
    x[..., 3] += 40  # one dominant token per row, as a trained model has
    return x


@pytest.mark.parametrize("threads", [1, 2, 3, 7])
@pytest.mark.parametrize("rows,width", [(1, 30522), (2, 70000), (5, 30522), (60, 30522), (61, 15067), (3, 7)])
def test_log_softmax_bitwise_equal(threads, rows, width):
    x = logits((rows, width))
    want = log_softmax(x.copy())
    got = RowThreads(threads).log_softmax(x.copy())
    assert got.dtype == np.float32
    assert np.array_equal(got, want)


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("shape", [(1, 9, 30522), (16, 11, 15067), (3, 1, 50)])
def test_pick_log_probs_bitwise_equal(threads, shape):
    x = logits(shape, seed=1)
    targets = np.random.default_rng(2).integers(0, shape[-1], size=shape[:-1])
    want = pick_log_probs(x.copy(), targets)
    got = RowThreads(threads).pick_log_probs(x.copy(), targets)
    assert got.shape == targets.shape and got.dtype == np.float32
    assert np.array_equal(got, want)
    # and both are the log-softmax read at the targets
    full = log_softmax(x.copy())
    assert np.array_equal(np.take_along_axis(full, targets[..., None], -1)[..., 0], want)


def test_chunks_cover_every_row_once_and_only_split_real_work():
    r = RowThreads(3)
    for rows, width in [(60, 30522), (7, 30522), (2, 10), (1, 10**6), (100, MIN_SPLIT // 100)]:
        parts = r.chunks(rows, width)
        assert [i for p in parts for i in range(p.start, p.stop)] == list(range(rows))
        assert all(p.stop > p.start for p in parts)
        assert len(parts) <= max(1, rows * width // MIN_SPLIT)
    assert len(r.chunks(60, 30522)) == 3
    assert len(RowThreads(1).chunks(60, 30522)) == 1


def test_non_contiguous_and_other_dtypes_fall_back_to_the_plain_kernel():
    r = RowThreads(2)
    x = logits((60, 30522))
    view = x[:, ::2]
    assert np.array_equal(r.log_softmax(view.copy(order="K")), log_softmax(view.copy(order="K")))
    x64 = logits((8, 40000)).astype(np.float64)
    assert np.array_equal(r.log_softmax(x64.copy()), log_softmax(x64.copy()))


def _child(q):
    q.put(float(ROWS.log_softmax(logits((60, 30522)))[0, 0]))


ROWS = RowThreads(2)


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="no fork on this platform")
def test_a_forked_child_makes_its_own_threads():
    ROWS.log_softmax(logits((60, 30522)))  # the parent's pool exists before the fork
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    got = q.get(timeout=60)
    p.join(timeout=60)
    assert p.exitcode == 0
    assert got == float(log_softmax(logits((60, 30522)))[0, 0])
