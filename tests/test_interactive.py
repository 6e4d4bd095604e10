"""Interactive figures degrade to one static figure when headless (tinyquant/interactive.py)."""

import pytest

from tinyquant import interactive
from tinyquant.interactive import interactive_figure, is_headless


def test_static_figures_variable_makes_it_headless(monkeypatch):
    monkeypatch.setenv("TINYQUANT_STATIC_FIGURES", "1")
    assert is_headless()


def test_outside_a_kernel_it_is_headless(monkeypatch):
    monkeypatch.delenv("TINYQUANT_STATIC_FIGURES", raising=False)
    assert is_headless()          # pytest runs no IPython kernel


def test_headless_draws_once_at_the_defaults(monkeypatch):
    monkeypatch.setenv("TINYQUANT_STATIC_FIGURES", "1")
    calls = []
    result = interactive_figure(lambda name, f: calls.append((name, f)), name=["ab_tanh", "ab_arctan"],
                                f=(0.0, 1.0, 0.05, 0.5))
    assert result is None and calls == [("ab_tanh", 0.5)]


def test_with_a_front_end_every_parameter_gets_a_control(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setattr(interactive, "is_headless", lambda: False)
    calls = []
    widget = interactive_figure(lambda name, f: calls.append((name, f)), name=["a", "b"], f=(0.0, 1.0, 0.05, 0.5))
    assert widget is not None
    assert calls[0] == ("a", 0.5)


@pytest.mark.parametrize("spec, error", [((0.0, 1.0, 0.1), TypeError), ((1.0, 0.0, 0.1, 0.5), ValueError),
                                         ((0.0, 1.0, 0.0, 0.5), ValueError), ((0.0, 1.0, 0.1, 2.0), ValueError),
                                         ("f", TypeError)])
def test_bad_parameter_specs_are_rejected_naming_the_parameter(spec, error):
    with pytest.raises(error, match="'f'"):
        interactive_figure(lambda f: None, f=spec)
