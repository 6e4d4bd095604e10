"""DataLoader: coverage, drop_last, determinism in (seed, epoch), resumption, validation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyquant.data import DataLoader


def collect(loader_or_batches):
    return [(xb.copy(), yb.copy()) for xb, yb in loader_or_batches]


def make(n=23, **kwargs):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    return DataLoader(x, y, kwargs.pop("batch_size", 5), **kwargs)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), seed=st.integers(0, 2**32),
       epoch=st.integers(0, 5))
def test_shuffled_epoch_covers_every_sample_exactly_once(n, batch_size, seed, epoch):
    loader = make(n, batch_size=batch_size, shuffle=True, seed=seed)
    loader.epoch = epoch
    batches = collect(loader)
    seen = np.concatenate([yb for _, yb in batches])
    np.testing.assert_array_equal(np.sort(seen), np.arange(n))
    folded = n > 1 and n % batch_size == 1          # a last batch of one joins the one before
    assert len(batches) == len(loader) == -(-n // batch_size) - folded
    assert all(len(yb) == batch_size for _, yb in batches[:-1])
    assert len(batches[-1][1]) == (batch_size + 1 if folded else n - (len(batches) - 1) * batch_size)
    for xb, yb in batches:                      # inputs stay paired with their labels
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), shuffle=st.booleans())
def test_drop_last_drops_exactly_the_incomplete_batch(n, batch_size, shuffle):
    loader = make(n, batch_size=batch_size, shuffle=shuffle, drop_last=True)
    batches = collect(loader)
    assert len(batches) == len(loader) == n // batch_size
    assert all(len(yb) == batch_size for _, yb in batches)
    seen = np.concatenate([yb for _, yb in batches]) if batches else np.array([], int)
    assert len(np.unique(seen)) == len(seen) == (n // batch_size) * batch_size


def test_without_shuffle_samples_come_in_order_every_epoch():
    loader = make(23, batch_size=5)
    for _ in range(2):
        np.testing.assert_array_equal(np.concatenate([yb for _, yb in loader]), np.arange(23))


def test_shuffle_order_is_default_rng_of_seed_and_epoch():
    loader = make(23, shuffle=True, seed=11)
    for epoch in range(3):
        expected = np.random.default_rng([11, epoch]).permutation(23)
        np.testing.assert_array_equal(np.concatenate([yb for _, yb in loader]), expected)


def test_same_seed_gives_same_batches_and_other_seeds_or_epochs_differ():
    a, b, c = (make(50, shuffle=True, seed=s) for s in (3, 3, 4))
    first_a, first_b, first_c = collect(a), collect(b), collect(c)
    for (xa, ya), (xb, yb) in zip(first_a, first_b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    order = lambda batches: np.concatenate([yb for _, yb in batches])
    assert not np.array_equal(order(first_a), order(first_c))          # other seed
    assert not np.array_equal(order(first_a), order(collect(a)))        # next epoch


def test_epoch_advances_when_iteration_starts():
    loader = make(23, shuffle=True)
    assert loader.epoch == 0
    it = iter(loader)
    assert loader.epoch == 1            # before any batch is produced
    next(it)
    for _ in loader:                    # a loop abandoned early still counts as started
        break
    assert loader.epoch == 2
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in loader]),
                                  np.random.default_rng([0, 2]).permutation(23))


def crop_and_noise(x, rng):
    return x + rng.standard_normal(x.shape).astype(x.dtype)


@pytest.mark.parametrize("k", [0, 1, 3])
def test_fresh_loader_at_epoch_k_replays_kth_epoch_including_transform(k, tmp_path):
    kwargs = dict(batch_size=4, shuffle=True, seed=5, transform=crop_and_noise)
    trained = make(23, **kwargs)
    for _ in range(k):
        collect(trained)
    np.savez(tmp_path / "loader.npz", **trained.state_dict())
    expected = collect(trained)                     # the k-th (0-based) epoch

    by_attribute = make(23, **kwargs)
    by_attribute.epoch = k
    by_state = make(23, **kwargs)
    with np.load(tmp_path / "loader.npz") as f:
        by_state.load_state_dict(dict(f))
    assert by_state.epoch == k
    for resumed in (collect(by_attribute), collect(by_state)):
        assert len(resumed) == len(expected)
        for (xr, yr), (xe, ye) in zip(resumed, expected):
            np.testing.assert_array_equal(xr, xe)
            np.testing.assert_array_equal(yr, ye)


def test_batches_with_start_resume_mid_epoch_and_leave_epoch_alone():
    loader = make(23, batch_size=4, shuffle=True, seed=2, transform=crop_and_noise)
    full = collect(loader.batches(3))
    tail = collect(loader.batches(3, start=2))
    assert loader.epoch == 0
    assert len(tail) == len(full) - 2
    for (xt, yt), (xf, yf) in zip(tail, full[2:]):
        np.testing.assert_array_equal(xt, xf)
        np.testing.assert_array_equal(yt, yf)


def test_transform_gets_the_documented_child_generator_of_each_batch():
    seen = []
    loader = make(10, batch_size=4, seed=9, transform=lambda x, rng: seen.append(rng.random()) or x)
    loader.epoch = 2
    collect(loader)
    expected = [np.random.default_rng(np.random.SeedSequence([9, 2], spawn_key=(b,))).random()
                for b in range(3)]
    assert seen == expected
    assert len(set(seen)) == 3


def test_batches_are_copies_that_cannot_change_the_data():
    loader = make(10, batch_size=4)
    xb, yb = next(iter(loader))
    xb[:] = -1
    yb[:] = -1
    assert loader.x.min() == 0 and loader.y.min() == 0


def test_state_dict_is_flat_numpy_scalars_and_rejects_other_configuration():
    state = make(23, shuffle=True, seed=1).state_dict()
    assert all(isinstance(v, np.generic) for v in state.values())
    with pytest.raises(ValueError, match="seed"):
        make(23, shuffle=True, seed=2).load_state_dict(state)
    with pytest.raises(ValueError, match="batch_size"):
        make(23, shuffle=True, seed=1, batch_size=6).load_state_dict(state)
    with pytest.raises(ValueError, match="missing keys"):
        make(23).load_state_dict({"epoch": np.int64(1)})


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, "4"])
def test_bad_batch_size_is_rejected_with_its_value(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(np.zeros((4, 2)), np.zeros(4), batch_size)


def test_bad_arguments_are_rejected_early_with_clear_messages():
    with pytest.raises(ValueError, match="x has 4 samples but y has 3"):
        DataLoader(np.zeros((4, 2)), np.zeros(3), 2)
    with pytest.raises(ValueError, match="empty"):
        DataLoader(np.zeros((0, 2)), np.zeros(0), 2)
    with pytest.raises(TypeError, match="seed"):
        DataLoader(np.zeros((4, 2)), np.zeros(4), 2, seed=-1)
    with pytest.raises(TypeError, match="transform"):
        DataLoader(np.zeros((4, 2)), np.zeros(4), 2, transform="flip")
    loader = make(4)
    with pytest.raises(ValueError, match="epoch"):
        loader.epoch = -1
    bad = make(4, transform=lambda x, rng: x[:1])
    with pytest.raises(ValueError, match="returned"):
        next(iter(bad))


# ------------------------------------------------------- the PyTorch-shaped constructor

def test_a_last_batch_of_one_sample_is_folded_into_the_one_before_unless_told_not_to():
    x, y = np.zeros((1438, 2), np.float32), np.arange(1438)            # the digits' training split
    assert [len(yb) for _, yb in DataLoader((x, y), 1437)] == [1438]      # --batch-size 1437
    assert [len(yb) for _, yb in DataLoader((x, y), 1437, fold_last=False)] == [1437, 1]
    assert [len(yb) for _, yb in DataLoader((x, y), 1437, drop_last=True)] == [1437]
    assert [len(yb) for _, yb in DataLoader((x[:1], y[:1]), 4)] == [1]     # a data set of one stays
    assert [len(yb) for _, yb in DataLoader((x[:7], y[:7]), 3)] == [3, 4]


class Squares:
    """A map-style data set: __len__ and __getitem__ only."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float32), i % 3


def test_a_map_style_dataset_is_batched_by_stacking_its_samples():
    loader = DataLoader(Squares(), batch_size=4, shuffle=True, seed=3)
    batches = collect(loader)
    order = np.random.default_rng([3, 0]).permutation(10)
    np.testing.assert_array_equal(np.concatenate([xb[:, 0] for xb, _ in batches]), order)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), order % 3)
    assert batches[0][0].shape == (4, 2) and batches[0][0].dtype == np.float32


def test_the_pytorch_form_the_pair_form_and_the_older_form_give_the_same_batches():
    from tinyquant.data import TensorDataset

    x, y = np.arange(46, dtype=np.float32).reshape(23, 2), np.arange(23)
    forms = [DataLoader(x, y, 5, shuffle=True, seed=4), DataLoader((x, y), 5, True, seed=4),
             DataLoader(TensorDataset(x, y), batch_size=5, shuffle=True, seed=4),
             DataLoader(list(zip(x, y)), batch_size=5, shuffle=True, seed=4)]
    reference = collect(forms[0])
    for loader in forms[1:]:
        for (xa, ya), (xb, yb) in zip(reference, collect(loader)):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)


def test_a_generator_fixes_the_seed_once_and_replays_like_a_seed():
    x, y = np.zeros((20, 1)), np.arange(20)
    seeded = DataLoader((x, y), 4, shuffle=True, rng=np.random.default_rng(1))
    again = DataLoader((x, y), 4, shuffle=True, rng=np.random.default_rng(1))
    assert seeded.seed == again.seed
    np.testing.assert_array_equal(np.concatenate([b for _, b in seeded]), np.concatenate([b for _, b in again]))
    with pytest.raises(TypeError, match="seed or rng, not both"):
        DataLoader((x, y), 4, seed=1, rng=np.random.default_rng(1))


@pytest.mark.parametrize("dataset, error, message", [
    (42, TypeError, r"dataset must be a pair of arrays"),
    ((np.zeros(3),), TypeError, r"a tuple data set must be \(x, y\)"),
    ([], ValueError, r"the data set is empty"),
    ([np.zeros(2)], TypeError, r"dataset\[i\] must return a pair"),
])
def test_bad_datasets_are_refused_clearly(dataset, error, message):
    with pytest.raises(error, match=message):
        next(iter(DataLoader(dataset, 2)))


def test_a_dataset_record_is_refused_with_the_split_to_pass():
    from tinyquant.data import get_dataset

    with pytest.raises(TypeError, match=r"pass one, e.g. DataLoader\(\(ds.x_train, ds.y_train\)"):
        DataLoader(get_dataset("digits"), 32)
