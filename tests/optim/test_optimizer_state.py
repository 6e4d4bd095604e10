"""Optimizer base: param groups, flat state_dict, bit-identical resumption, input checks."""

import io

import numpy as np
import pytest

from tinyquant.optim import SGD, Adam, LRScheduler, cosine, linear_warmup


class Param:
    """The optimizer's view of a parameter: ``.data`` updated in place, ``.grad`` or None."""

    def __init__(self, data, grad=None):
        self.data = np.array(data)
        self.grad = None if grad is None else np.array(grad)


def make_params(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 3), (1,)]
    return [Param(rng.standard_normal(s).astype(np.float32)) for s in shapes]


def make_sgd(params):
    return SGD([{"params": params[:2]}, {"params": params[2:], "weight_decay": 0.0, "lr": 0.05}],
               lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True)


def make_adam(params):
    return Adam([{"params": params[:3]}, {"params": params[3:], "weight_decay": 0.0}],
                lr=3e-3, betas=(0.8, 0.99), weight_decay=1e-2)


def gradients(params, step):
    """Deterministic float32 gradients; parameter 3 has none for the first 3 steps."""
    rng = np.random.default_rng(1000 + step)
    return [None if (i == 3 and step < 3) else rng.standard_normal(p.data.shape).astype(np.float32)
            for i, p in enumerate(params)]


def run(opt, sched, params, steps):
    for step in steps:
        for p, g in zip(params, gradients(params, step)):
            p.grad = g
        opt.step()
        sched.step()


def through_npz(state):
    """What a checkpoint does: np.savez, then np.load without pickle."""
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("make", [make_sgd, make_adam], ids=["sgd", "adam"])
def test_resuming_from_a_state_dict_gives_bit_identical_updates(make):
    params = make_params()
    opt = make(params)
    sched = LRScheduler(opt, linear_warmup(2, then=cosine(10)))
    run(opt, sched, params, range(4))
    saved_params = [p.data.copy() for p in params]
    saved_opt, saved_sched = through_npz(opt.state_dict()), through_npz(sched.state_dict())
    run(opt, sched, params, range(4, 9))

    resumed = make_params(seed=1)  # other values, overwritten below as a model checkpoint would
    for p, value in zip(resumed, saved_params):
        p.data[...] = value
    opt2 = make(resumed)
    sched2 = LRScheduler(opt2, linear_warmup(2, then=cosine(10)))
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    run(opt2, sched2, resumed, range(4, 9))
    for i, (a, b) in enumerate(zip(params, resumed)):
        assert b.data.dtype == np.float32
        np.testing.assert_array_equal(a.data, b.data, err_msg=f"parameter {i}")
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_state_dict_is_flat_arrays_keyed_by_group_and_parameter_position():
    params = make_params()
    opt = make_adam(params)
    run(opt, LRScheduler(opt, cosine(5)), params, range(2))
    state = opt.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    assert state["group0.lr"].shape == () and state["group0.betas"].tolist() == [0.8, 0.99]
    assert state["group0.params"].tolist() == [0, 1, 2] and state["group1.params"].tolist() == [3]
    assert state["state.2.exp_avg"].shape == (2, 2, 3) and state["state.2.step"] == 2
    assert "state.3.step" not in state  # parameter 3 has had no gradient yet
    before = state["state.0.exp_avg"].copy()
    run(opt, LRScheduler(opt, cosine(5)), params, range(2, 3))
    np.testing.assert_array_equal(state["state.0.exp_avg"], before)  # a snapshot, not a view


def test_loading_restores_hyperparameters_and_replaces_state():
    params = make_params()
    opt = make_sgd(params)
    for p, g in zip(params, gradients(params, 5)):
        p.grad = g
    opt.step()
    saved = opt.state_dict()
    fresh = make_sgd(params)
    fresh.param_groups[0]["lr"] = 123.0
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == 0.1 and fresh.param_groups[1]["lr"] == 0.05
    assert isinstance(fresh.param_groups[0]["nesterov"], bool)
    assert sorted(fresh.state) == [0, 1, 2, 3]
    for i in range(4):
        np.testing.assert_array_equal(fresh.state[i]["momentum_buffer"],
                                      opt.state[i]["momentum_buffer"])
        assert fresh.state[i]["momentum_buffer"] is not saved[f"state.{i}.momentum_buffer"]


def corrupt(state, **changes):
    out = dict(state)
    for key, value in changes.items():
        key = key.replace("__", ".")
        if value is None:
            del out[key]
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("changes, match", [
    (dict(state__0__momentum_buffer=np.zeros((4, 3), np.float32)),
     r"'state\.0\.momentum_buffer' has shape \(4, 3\) but parameter 0 has shape \(3, 4\)"),
    (dict(state__7__momentum_buffer=np.zeros(1)), r"state for parameter 7 but the optimizer has 4"),
    (dict(state__0__exp_avg=np.zeros((3, 4))),
     r"parameter 0 has state \['exp_avg', 'momentum_buffer'\]; expected all of "
     r"\['momentum_buffer'\]"),
    (dict(group2__lr=np.array(0.1)), r"has group 2 but the optimizer has 2 group"),
    (dict(group0__lr=None), r"group 0: missing hyperparameter\(s\) \['lr'\]"),
    (dict(group0__lr=np.array(-1.0)), r"lr must be a finite number >= 0, got -1\.0"),
    (dict(group0__dampening=np.array(0.0)), r"unknown hyperparameter\(s\) \['dampening'\]"),
    (dict(group0__params=np.array([0, 1, 2])), r"group 0 holds 2 parameter\(s\).*lists 3"),
    (dict(group1__params=None), r"group 1 holds 2 parameter\(s\).*lists no"),
    (dict(foo=np.array(1)), r"unexpected key 'foo'"),
    (dict(state__0__momentum_buffer=None, state__0__step=np.array(1)),
     r"parameter 0 has state \['step'\]; expected all of \['momentum_buffer'\]"),
])
def test_loading_a_mismatched_state_dict_fails_clearly_and_changes_nothing(changes, match):
    params = make_params()
    opt = make_sgd(params)
    for p, g in zip(params, gradients(params, 5)):
        p.grad = g
    opt.step()
    saved = opt.state_dict()
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(corrupt(saved, **changes))
    after = opt.state_dict()
    assert after.keys() == before.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])


def test_loading_into_a_model_with_a_different_number_of_parameters_fails():
    params = make_params()
    opt = SGD(params, lr=0.1, momentum=0.9)
    for p, g in zip(params, gradients(params, 5)):
        p.grad = g
    opt.step()
    with pytest.raises(ValueError, match=r"group 0 holds 3 parameter\(s\).*lists 4"):
        SGD(params[:3], lr=0.1, momentum=0.9).load_state_dict(opt.state_dict())


def test_adam_state_must_be_complete_for_each_parameter():
    params = make_params()
    opt = Adam(params)
    for p, g in zip(params, gradients(params, 5)):
        p.grad = g
    opt.step()
    state = opt.state_dict()
    del state["state.1.exp_avg_sq"]
    with pytest.raises(ValueError, match=r"parameter 1 has state \['exp_avg', 'step'\]"):
        Adam(params).load_state_dict(state)


@pytest.mark.parametrize("params, error, match", [
    ([], ValueError, r"SGD: got an empty parameter list"),
    (Param([1.0]), TypeError, r"params must be an iterable .* got a single Param"),
    ({"params": [Param([1.0])]}, TypeError, r"got a single dict"),
    (3, TypeError, r"params must be iterable, got int"),
    ([{"params": [Param([1.0])]}, Param([2.0])], TypeError, r"mixes param-group dicts and bare"),
    ([{"params": [Param([1.0])], "betas": (0.9, 0.99)}], ValueError,
     r"param group 0: unknown key\(s\) \['betas'\]; expected 'params', an optional 'name' and any of"),
    ([{"params": []}], ValueError, r"param group 0: got an empty parameter list"),
    ([{"lr": 0.1}], TypeError, r"must be a dict with a 'params' key"),
    ([Param(np.array([1, 2]))], TypeError, r"floating-point np\.ndarray `\.data`.*dtype int64"),
    ([object()], TypeError, r"floating-point np\.ndarray `\.data`, got object with data NoneType"),
])
def test_bad_params_are_rejected_with_a_clear_message(params, error, match):
    with pytest.raises(error, match=match):
        SGD(params, lr=0.1)


def test_a_parameter_in_two_groups_is_rejected():
    p = Param([1.0])
    with pytest.raises(ValueError, match=r"param group 1: a parameter appears more than once"):
        SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_a_gradient_of_the_wrong_shape_is_reported_at_step():
    opt = SGD([Param([1.0]), Param([1.0, 2.0], [1.0, 2.0, 3.0])], lr=0.1)
    opt.param_groups[0]["params"][0].grad = np.array([1.0])
    with pytest.raises(ValueError, match=r"parameter 1 has data shape \(2,\) but grad shape "
                                         r"\(3,\)"):
        opt.step()


def test_add_param_group_fills_defaults():
    opt = Adam([Param([1.0])], lr=0.01)
    opt.add_param_group({"params": Param([2.0]), "weight_decay": 0.1})
    group = opt.param_groups[1]
    assert (group["lr"], group["betas"], group["eps"], group["weight_decay"]) == (
        0.01, (0.9, 0.999), 1e-8, 0.1)


def test_param_groups_may_carry_a_name_that_survives_a_state_dict_round_trip():
    from tinyquant import optim as _optim

    a, b = Param(np.ones(2)), Param(np.ones(3))
    groups = [{"params": [a], "name": "weights"},
              {"params": [b], "name": "thresholds", "weight_decay": 0.0}]
    opt = _optim.SGD(groups, lr=0.1, weight_decay=1e-4)
    twin = _optim.SGD([dict(g) for g in groups], lr=0.1)
    twin.load_state_dict(opt.state_dict())
    assert [g["name"] for g in twin.param_groups] == ["weights", "thresholds"]
    assert twin.param_groups[0]["weight_decay"] == 1e-4
