"""The convolution's ConvRuntime: threads, chunking and column buffers on an explicit object."""

import os
import subprocess
import sys

import numpy as np
import pytest

import tinyquant as tq
from tinyquant.nn import parallel
from tinyquant.nn.convolution import conv2d


def test_a_runtime_passed_to_conv2d_supplies_the_scratch_and_the_default_is_untouched():
    rt = parallel.ConvRuntime(threads=1)
    before = parallel.default_runtime().workspace().nbytes
    x = tq.Tensor(np.ones((2, 3, 5, 5)))
    w = tq.Tensor(np.ones((4, 3, 3, 3)), requires_grad=True)
    conv2d(x, w, padding=1, runtime=rt).sum().backward()
    assert rt.workspace().nbytes >= 2 * 3 * 3 * 7 * 5 * 8     # the columns (N, C, kw, Hp, Wo) lived in rt's
    assert parallel.default_runtime().workspace().nbytes == before


def test_results_do_not_depend_on_which_runtime_object_runs_them():
    rng = np.random.default_rng(0)
    x, w = tq.Tensor(rng.standard_normal((9, 2, 6, 6))), tq.Tensor(rng.standard_normal((3, 2, 3, 3)))
    one = conv2d(x, w, padding=1, runtime=parallel.ConvRuntime(threads=1)).data
    same = conv2d(x, w, padding=1, runtime=parallel.ConvRuntime(threads=1)).data
    chunked = conv2d(x, w, padding=1, runtime=parallel.ConvRuntime(threads=3, min_chunk=1, min_work=0)).data
    np.testing.assert_array_equal(one, same)
    np.testing.assert_allclose(one, chunked, rtol=1e-12)


def test_the_default_reads_tinyquant_num_threads_on_first_use():
    code = ("from tinyquant.nn import parallel; import os; os.environ['TINYQUANT_NUM_THREADS'] = '3'; "
            "print(parallel.default_runtime().threads)")
    env = {**os.environ, "TINYQUANT_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "3"          # read when first used, not when imported


def test_set_default_runtime_returns_the_previous_one_to_restore():
    mine = parallel.ConvRuntime(threads=2)
    previous = parallel.set_default_runtime(mine)
    try:
        assert parallel.default_runtime() is mine
    finally:
        parallel.set_default_runtime(previous)
    assert parallel.default_runtime() is previous
    with pytest.raises(TypeError, match="expected a ConvRuntime"):
        parallel.set_default_runtime(4)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_a_bad_thread_count_is_refused(threads):
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        parallel.ConvRuntime(threads=threads)
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        parallel.default_runtime().threads = threads


def test_a_bad_environment_variable_is_refused(monkeypatch):
    monkeypatch.setenv("TINYQUANT_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="TINYQUANT_NUM_THREADS must be a positive integer, got 'many'"):
        parallel.ConvRuntime()
