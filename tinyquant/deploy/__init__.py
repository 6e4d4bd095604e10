"""From simulated bits to real ones: summary, packed export, bit-exact inference, ONNX.

* :mod:`~tinyquant.deploy.precision` -- a trained layer's weights as integers and scales
* :mod:`~tinyquant.deploy.summary`   -- ``summary(model, input_shape)``: bits, parameters,
  memory and MACs by precision (larq's ``lq.models.summary`` as the model)
"""

from .summary import ModelSummary, summary

__all__ = ["ModelSummary", "summary"]
