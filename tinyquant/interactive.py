"""Interactive figures for the notebooks: ipywidgets sliders where a person is looking, a static figure elsewhere.

``interactive_figure(draw, alpha=(1e-3, 1.0, 1e-3, 0.1), ...)`` draws ``draw(**defaults)`` once as a
plain figure, and, in a live Jupyter front end with ``ipywidgets`` installed (the ``[notebooks]``
extra), adds one slider per parameter that redraws it. Headless — a plain Python run, no
ipywidgets, or ``TINYQUANT_STATIC_FIGURES=1`` (set by the notebook tests and the docs build) —
only the static figure is drawn, so the notebook's outputs and the rendered docs keep it.
"""

from __future__ import annotations

import os

STATIC_ENV = "TINYQUANT_STATIC_FIGURES"


def _validate(name, spec):
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(v, str) for v in spec):
        return list(spec), spec[0]
    if not (isinstance(spec, tuple) and len(spec) == 4):
        raise TypeError(f"interactive_figure: parameter {name!r} expects (min, max, step, default) "
                        f"or a list of choices, got {spec!r}")
    lo, hi, step, default = (float(v) for v in spec)
    if not (lo < hi and step > 0 and lo <= default <= hi):
        raise ValueError(f"interactive_figure: parameter {name!r} = {spec!r} needs min < max, step > 0 "
                         f"and min <= default <= max")
    return (lo, hi, step), default


def is_headless() -> bool:
    """True when no person can move a slider: outside an IPython kernel, without ipywidgets, or
    when ``TINYQUANT_STATIC_FIGURES`` is set to anything but ``0`` or the empty string."""
    if os.environ.get(STATIC_ENV, "") not in ("", "0"):
        return True
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return True
    shell = get_ipython()
    return shell is None or not hasattr(shell, "kernel")


def interactive_figure(draw, **params):
    """Draw ``draw(**defaults)``; in a live front end, add a slider (or dropdown) per parameter.

    Each parameter is ``(min, max, step, default)`` for a float slider or a list of strings for a
    dropdown (its first entry the default). ``draw`` makes and shows one figure. Returns the
    ipywidgets object, or ``None`` when headless (then only the static figure is drawn).
    """
    specs = {name: _validate(name, spec) for name, spec in params.items()}
    defaults = {name: default for name, (_, default) in specs.items()}
    if is_headless():
        draw(**defaults)
        return None
    import ipywidgets as widgets

    controls = {}
    for name, (domain, default) in specs.items():
        if isinstance(domain, list):
            controls[name] = widgets.Dropdown(options=domain, value=default, description=name)
        else:
            lo, hi, step = domain
            controls[name] = widgets.FloatSlider(min=lo, max=hi, step=step, value=default, description=name,
                                                 continuous_update=False, readout_format=".3g")
    return widgets.interact(draw, **controls)
