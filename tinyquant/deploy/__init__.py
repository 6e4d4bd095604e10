"""From simulated bits to real ones: summary, packed export, bit-exact inference, ONNX.

* :mod:`~tinyquant.deploy.precision` -- a trained layer's weights as integers and scales
* :mod:`~tinyquant.deploy.summary`   -- ``summary(model, input_shape)``: bits, parameters,
  memory and MACs by precision (larq's ``lq.models.summary`` as the model)
* :mod:`~tinyquant.deploy.graph`     -- the model as inference nodes, batch norm folded
* :mod:`~tinyquant.deploy.pack`      -- ``save_packed`` / ``load_packed``: bits, planes and
  small integers in one pickle-free ``.npz``
* :mod:`~tinyquant.deploy.runtime`   -- ``run(packed, x)``: XNOR-popcount, sign-masked
  accumulation and integer GEMMs
* :mod:`~tinyquant.deploy.onnx_export` -- ``export_onnx``: a standard ONNX graph (opset 17)
  with int8 weight levels and Q/DQ nodes (needs the ``[deploy]`` extra)
"""

from .pack import PackedModel, load_packed, packed_from_model, save_packed
from .runtime import run
from .summary import ModelSummary, summary

__all__ = ["ModelSummary", "PackedModel", "load_packed", "packed_from_model", "run", "save_packed",
           "summary"]
