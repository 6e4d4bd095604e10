"""conv2d/conv1d: equal to a naive loop reference, correct gradients, dtypes kept, bad input refused."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyquant as tq
from tinyquant.nn.convolution import conv1d, conv2d


def naive_conv2d(x, w, b, stride, padding):
    """y[n, o, r, s] = b[o] + Σ_{c,i,j} w[o, c, i, j] · x_pad[n, c, r·sh + i, s·sw + j], by loops."""
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph : ph + h, pw : pw + wd] = x
    ho, wo = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    y = np.zeros((n, o, ho, wo))
    for bi in range(n):
        for oc in range(o):
            for r in range(ho):
                for s in range(wo):
                    patch = xp[bi, :, r * sh : r * sh + kh, s * sw : s * sw + kw]
                    y[bi, oc, r, s] = np.sum(patch * w[oc]) + (0.0 if b is None else b[oc])
    return y


@st.composite
def conv_cases(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 6))
    w = draw(st.integers(max(1, kw - 2 * pw), 6))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    bias = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((o, c, kh, kw))
    b = rng.standard_normal(o) if bias else None
    return x, weight, b, stride, (ph, pw)


def _t(a):
    return None if a is None else tq.Tensor(a)


@settings(max_examples=80, deadline=None)
@given(conv_cases())
def test_conv2d_matches_naive_loop_reference(case):
    x, w, b, stride, padding = case
    y = conv2d(_t(x), _t(w), _t(b), stride=stride, padding=padding)
    np.testing.assert_allclose(y.data, naive_conv2d(x, w, b, stride, padding), rtol=1e-10, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(conv_cases())
def test_conv2d_gradients_match_the_adjoint_of_the_naive_reference(case):
    """For L = ⟨y, R⟩ the naive conv is linear in x and in w: dL/dx[k] = L(e_k) − L(0) etc."""
    x, w, b, stride, padding = case
    X, W = tq.Tensor(x, requires_grad=True), tq.Tensor(w, requires_grad=True)
    B = None if b is None else tq.Tensor(b, requires_grad=True)
    y = conv2d(X, W, B, stride=stride, padding=padding)
    r = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(r)
    # linearity: the gradient wrt x is the naive conv's transpose applied to R, one basis vector at a time
    dx = np.array([np.sum(naive_conv2d(e.reshape(x.shape), w, None, stride, padding) * r)
                   for e in np.eye(x.size)]).reshape(x.shape)
    dw = np.array([np.sum(naive_conv2d(x, e.reshape(w.shape), None, stride, padding) * r)
                   for e in np.eye(w.size)]).reshape(w.shape)
    np.testing.assert_allclose(X.grad, dx, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(W.grad, dw, rtol=1e-9, atol=1e-9)
    if B is not None:
        np.testing.assert_allclose(B.grad, r.sum(axis=(0, 2, 3)), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "stride, padding, kernel",
    [(1, 1, (3, 3)), (2, 1, (3, 3)), ((2, 1), (0, 2), (2, 3)), (1, 2, (2, 2)), (3, 0, (1, 1))],
)
def test_conv2d_gradcheck(stride, padding, kernel):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, *kernel))
    b = rng.standard_normal(4)
    tq.gradcheck(lambda x, w, b: conv2d(x, w, b, stride=stride, padding=padding), x, w, b)


def test_conv1d_matches_naive_loop_reference_and_gradcheck():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 9)), rng.standard_normal((4, 3, 3)), rng.standard_normal(4)
    for stride, padding in [(1, 0), (1, 1), (2, 2), (3, 1)]:
        y = conv1d(tq.Tensor(x), tq.Tensor(w), tq.Tensor(b), stride=stride, padding=padding)
        ref = naive_conv2d(x[:, :, None], w[:, :, None], b, (1, stride), (0, padding))[:, :, 0]
        np.testing.assert_allclose(y.data, ref, rtol=1e-10, atol=1e-10)
        tq.gradcheck(lambda x, w, b: conv1d(x, w, b, stride=stride, padding=padding), x, w, b)


def test_conv_keeps_float32_forward_and_backward():
    rng = np.random.default_rng(0)
    for fn, xs, ws in [(conv2d, (2, 3, 8, 8), (4, 3, 3, 3)), (conv1d, (2, 3, 8), (4, 3, 3))]:
        x = tq.Tensor(rng.standard_normal(xs).astype(np.float32), requires_grad=True)
        w = tq.Tensor(rng.standard_normal(ws).astype(np.float32), requires_grad=True)
        b = tq.Tensor(np.zeros(4, np.float32), requires_grad=True)
        for stride in (1, 2):
            x.grad = w.grad = b.grad = None
            y = fn(x, w, b, stride=stride, padding=1)
            assert y.dtype == np.float32
            y.sum().backward()
            assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_conv2d_computes_only_requested_gradients():
    rng = np.random.default_rng(0)
    x = tq.Tensor(rng.standard_normal((2, 3, 5, 5)))  # a constant input (e.g. the image batch)
    w = tq.Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    conv2d(x, w, padding=1).sum().backward()
    assert x.grad is None
    ref = np.array([naive_conv2d(x.data, e.reshape(w.shape), None, (1, 1), (1, 1)).sum()
                    for e in np.eye(w.size)]).reshape(w.shape)
    np.testing.assert_allclose(w.grad, ref, rtol=1e-10)


def _x(*shape):
    return tq.Tensor(np.zeros(shape, np.float32))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: conv2d(_x(1, 3, 8, 8), _x(32, 16, 3, 3)), ValueError,
         "conv2d: input has 3 channels but weight expects 16 (weight shape (32, 16, 3, 3))"),
        (lambda: conv2d(_x(3, 8, 8), _x(4, 3, 3, 3)), ValueError,
         "conv2d: input must be 4-D (N, C, H, W), got shape (3, 8, 8)"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3)), ValueError, "conv2d: weight must be 4-D"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), stride=0), ValueError,
         "conv2d: stride must be positive, got 0"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), stride=(1, -2)), ValueError,
         "conv2d: stride must be positive, got (1, -2)"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), padding=-1), ValueError,
         "conv2d: padding must be non-negative, got -1"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), stride=1.5), TypeError,
         "conv2d: stride must be an int or a pair of ints, got 1.5"),
        (lambda: conv2d(_x(1, 3, 2, 8), _x(4, 3, 5, 3), padding=1), ValueError,
         "conv2d: kernel height 5 is larger than the padded input height 4"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), _x(3)), ValueError,
         "conv2d: bias shape (3,) does not match weight shape (4, 3, 3, 3)"),
        (lambda: conv2d(np.zeros((1, 3, 8, 8)), _x(4, 3, 3, 3)), TypeError,
         "conv2d: input must be a tinyquant.Tensor, got ndarray"),
        (lambda: conv2d(_x(1, 3, 8, 8), tq.Tensor(np.zeros((4, 3, 3, 3)))), TypeError,
         "conv2d: input dtype float32 differs from weight dtype float64"),
        (lambda: conv1d(_x(1, 3, 8), _x(4, 2, 3)), ValueError,
         "conv1d: input has 3 channels but weight expects 2 (weight shape (4, 2, 3))"),
        (lambda: conv1d(_x(1, 3, 8, 8), _x(4, 3, 3)), ValueError, "conv1d: input must be 3-D (N, C, L)"),
        (lambda: conv1d(_x(1, 3, 8), _x(4, 3, 3), stride=0), ValueError, "conv1d: stride must be positive"),
        (lambda: conv1d(_x(1, 3, 8), _x(4, 3, 3), padding=-2), ValueError,
         "conv1d: padding must be non-negative, got -2"),
        (lambda: conv1d(_x(1, 3, 2), _x(4, 3, 5)), ValueError,
         "conv1d: kernel size 5 is larger than the padded input length 2"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(4, 3, 0, 0)), ValueError,     # gave a 9×9 output
         "conv2d: weight shape (4, 3, 0, 0) has an empty axis"),
        (lambda: conv2d(_x(1, 3, 8, 8), _x(0, 3, 3, 3)), ValueError, "has an empty axis"),
        (lambda: conv1d(_x(1, 3, 8), _x(4, 3, 0)), ValueError, "conv1d: weight shape (4, 3, 0) has an empty axis"),
        (lambda: conv2d(_x(0, 3, 8, 8), _x(4, 3, 3, 3)), ValueError,
         "conv2d: input of shape (0, 3, 8, 8) is empty"),
        (lambda: conv2d(tq.Tensor(np.ones((1, 3, 8, 8), np.int64)), tq.Tensor(np.ones((4, 3, 3, 3), np.int64))),
         TypeError, "conv2d: input must be floating-point (float32 or float64), got dtype int64"),
    ],
)
def test_conv_rejects_bad_input_naming_argument_and_value(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_conv2d_refuses_a_second_backward_through_the_same_graph():
    """The saved columns are recycled after the first backward (like PyTorch without retain_graph)."""
    rng = np.random.default_rng(0)
    x = tq.Tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    w = tq.Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    y = conv2d(x, w, padding=1).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="conv2d: backward through the same graph twice"):
        y.backward()


def test_conv2d_is_correct_when_column_buffers_are_recycled():
    """Interleaved forwards and backwards of two same-shaped convs reuse pooled buffers."""
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((2, 3, 6, 6)) for _ in range(2)]
    w = rng.standard_normal((3, 3, 3, 3))
    W = tq.Tensor(w, requires_grad=True)
    ys = [conv2d(tq.Tensor(x), W, padding=1) for x in xs]     # two column matrices alive at once
    (ys[0].sum() + (ys[1] * ys[1]).sum()).backward()
    ref0 = naive_conv2d(xs[0], w, None, (1, 1), (1, 1))
    ref1 = naive_conv2d(xs[1], w, None, (1, 1), (1, 1))
    np.testing.assert_allclose(ys[1].data, ref1, rtol=1e-10)
    r = [np.ones_like(ref0), 2 * ref1]                         # dL/dy of each output
    dw = sum(np.array([np.sum(naive_conv2d(x, e.reshape(w.shape), None, (1, 1), (1, 1)) * ri)
                       for e in np.eye(w.size)]).reshape(w.shape) for x, ri in zip(xs, r))
    np.testing.assert_allclose(W.grad, dw, rtol=1e-9)


@pytest.fixture
def three_threads(monkeypatch):
    """Force batch chunking on any machine and for tiny inputs: a default runtime with
    3 threads and no minimum (restored afterwards)."""
    from tinyquant.nn import parallel

    runtime = parallel.ConvRuntime(threads=3, min_chunk=1, min_work=0, block_bytes=1)  # a sample a block
    monkeypatch.setattr(parallel, "_default", runtime)
    return runtime


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 10])
def test_chunk_bounds_cover_the_batch_contiguously_without_empty_chunks(n, three_threads):
    bounds = three_threads.chunk_bounds(n, work=1)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(hi > lo for lo, hi in bounds) and len(bounds) == min(3, n)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))


@pytest.mark.parametrize("stride, padding", [((1, 1), (1, 1)), ((2, 2), (1, 1)), ((2, 1), (0, 2))])
def test_conv2d_on_batch_chunks_in_threads_equals_the_naive_reference_and_its_gradients(
        stride, padding, three_threads):
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((7, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    X, W, B = (tq.Tensor(a, requires_grad=True) for a in (x, w, b))
    y = conv2d(X, W, B, stride=stride, padding=padding)
    np.testing.assert_allclose(y.data, naive_conv2d(x, w, b, stride, padding), rtol=1e-10, atol=1e-10)
    r = rng.standard_normal(y.shape)
    y.backward(r)
    three_threads.threads = 1                        # the same graph in one piece
    X1, W1 = tq.Tensor(x, requires_grad=True), tq.Tensor(w, requires_grad=True)
    conv2d(X1, W1, tq.Tensor(b), stride=stride, padding=padding).backward(r)
    np.testing.assert_allclose(X.grad, X1.grad, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(W.grad, W1.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork (POSIX)")
def test_batch_chunks_still_run_in_a_process_forked_after_they_were_used(three_threads):
    import multiprocessing

    x = tq.Tensor(np.random.default_rng(0).standard_normal((6, 2, 5, 5)))
    w = tq.Tensor(np.random.default_rng(1).standard_normal((3, 2, 3, 3)))
    expected = conv2d(x, w, padding=1).data           # the parent's pool now has threads

    def child(queue):
        inherited = len(three_threads._pools)           # executors whose threads did not fork
        queue.put((inherited, conv2d(x, w, padding=1).data))

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    process = ctx.Process(target=child, args=(queue,))
    process.start()
    inherited, result = queue.get(timeout=30)
    process.join(timeout=30)
    assert inherited == 0, "the child must not reuse the parent's executors"
    np.testing.assert_array_equal(result, expected)


@settings(max_examples=40, deadline=None)
@given(kernel=st.one_of(st.integers(max_value=0), st.tuples(st.integers(-3, 3), st.integers(-3, 0)),
                        st.floats(0.5, 3), st.text(max_size=2)))
def test_conv2d_layer_refuses_a_bad_kernel_size_naming_it(kernel):
    with pytest.raises((TypeError, ValueError), match="Conv2d: kernel_size must be"):
        tq.nn.Conv2d(3, 4, kernel)


@pytest.mark.parametrize("kwargs, message", [
    (dict(in_channels=0), "Conv2d: in_channels must be a positive int, got 0"),
    (dict(out_channels=-1), "Conv2d: out_channels must be a positive int, got -1"),
    (dict(kernel_size=0), "Conv2d: kernel_size must be positive, got 0"),       # was ZeroDivisionError
    (dict(stride=0), "Conv2d: stride must be positive, got 0"),
    (dict(padding=-1), "Conv2d: padding must be non-negative, got -1"),
    (dict(in_channels=2.0), "Conv2d: in_channels must be a positive int, got 2.0"),
])
def test_conv2d_layer_constructor_refuses_bad_sizes(kwargs, message):
    args = dict(in_channels=3, out_channels=4, kernel_size=3) | kwargs
    with pytest.raises((TypeError, ValueError)) as info:
        tq.nn.Conv2d(**args)
    assert message in str(info.value)


@pytest.mark.parametrize("kwargs, message", [
    (dict(kernel_size=0), "Conv1d: kernel_size must be positive, got 0"),
    (dict(in_channels=0), "Conv1d: in_channels must be a positive int, got 0"),
    (dict(stride=(1, 2)), "Conv1d: stride must be an int or a 1-tuple of ints"),
])
def test_conv1d_layer_constructor_refuses_bad_sizes(kwargs, message):
    with pytest.raises((TypeError, ValueError)) as info:
        tq.nn.Conv1d(**(dict(in_channels=3, out_channels=4, kernel_size=3) | kwargs))
    assert message in str(info.value)


@pytest.mark.parametrize("save_columns", [False, True])
def test_conv2d_gradients_do_not_depend_on_keeping_or_rebuilding_the_columns(save_columns):
    """dW from columns kept by the forward equals dW from columns rebuilt from x, bit for bit,
    also when the thread count changes between the forward and the backward."""
    from tinyquant.nn.parallel import ConvRuntime

    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((9, 3, 7, 6)).astype(np.float32), rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    r = rng.standard_normal((9, 4, 4, 3)).astype(np.float32)
    grads = []
    for rt in (ConvRuntime(threads=1, save_columns=not save_columns),
               ConvRuntime(threads=3, min_chunk=1, min_work=0, save_columns=save_columns, block_bytes=1)):
        X, W = tq.Tensor(x, requires_grad=True), tq.Tensor(w, requires_grad=True)
        y = conv2d(X, W, stride=2, padding=1, runtime=rt)
        rt.threads = 2                                # the backward chunks the batch otherwise
        y.backward(r)
        grads.append((X.grad, W.grad))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=0, atol=0)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("stride, padding", [((1, 1), (1, 1)), ((2, 2), (1, 1)), ((2, 1), (0, 2))])
def test_fast_conv2d_equals_the_plain_im2col_reference_and_its_gradients(stride, padding, three_threads):
    from tinyquant.nn.convolution import Conv2dReference

    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((9, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    r = None
    results = []
    for fn in ("fast", "plain"):
        X, W, B = (tq.Tensor(a, requires_grad=True) for a in (x, w, b))
        if fn == "fast":
            y = conv2d(X, W, B, stride=stride, padding=padding)
        else:
            y = Conv2dReference.apply(X, W, B, stride=stride, padding=padding)
        r = rng.standard_normal(y.shape) if r is None else r
        y.backward(r)
        results.append((y.data, X.grad, W.grad, B.grad))
    for got, ref in zip(*results):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(results[1][0], naive_conv2d(x, w, b, stride, padding), atol=1e-10)
