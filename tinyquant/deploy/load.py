"""``load_model(path)``: a trained model rebuilt from its checkpoint alone, ready for inference.

A checkpoint written by ``tinyquant train`` (:func:`tinyquant.run.train`) holds the run's
typed configuration as JSON under its ``config`` key. ``load_model`` reads it back
(:func:`tinyquant.run.load_config`), builds the same architecture (:func:`tinyquant.run.build_model`,
sized from the configuration's data set), plugs in the same quantizers
(:func:`tinyquant.quant.config.configure_quantization`), loads the trained state (latent
weights, learned scales, steps and thresholds, batch-norm statistics) and switches to eval
mode. The model maps float32 inputs as ``tinyquant.data.get_dataset`` returns them
(``model(Tensor(x)).data``) to logits, and carries ``input_shape`` (per sample) and
``config`` for :func:`tinyquant.deploy.summary` and the exporters.
"""

from __future__ import annotations


def load_model(path):
    """The model trained into checkpoint ``path``, with its quantizers, in eval mode."""
    from ..data import get_dataset
    from ..quant.config import configure_quantization
    from ..run import build_model, load_config
    from ..train.checkpoint import load_checkpoint, split_prefix

    config = load_config(path)
    data = get_dataset(config.dataset, **({} if config.data_dir is None else {"directory": config.data_dir}))
    model = build_model(config, data.input_shape, data.num_classes)
    configure_quantization(model, config.quant, seed=config.seed)
    model.load_state_dict(split_prefix(load_checkpoint(path), "model"))
    model.eval()
    object.__setattr__(model, "input_shape", tuple(data.input_shape))
    object.__setattr__(model, "config", config)
    return model


__all__ = ["load_model"]
