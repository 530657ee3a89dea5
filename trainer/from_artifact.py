"""The torch model of a stored artifact (its dequantised values), e.g. to time torch against the
decoder on the very same numbers, or to fine-tune from it."""

import numpy as np
import torch

from todlm.decoder.weights import GridMLPWeights

from .model import DenseGrid, GridMLP


def model_from_weights(w: GridMLPWeights) -> GridMLP:
    model = GridMLP(w.config, w.width, w.height)
    with torch.no_grad():
        for grid, values in zip(model.grids, w.grids):
            grid.values.copy_(torch.from_numpy(np.array(values)))
        if model.baseline is not None:
            model.baseline.values.copy_(torch.from_numpy(np.array(w.baseline)))
        if w.latent is not None:  # the stored texture replaces the encoder that made it
            model.latent = DenseGrid(*w.latent.shape, w.width, w.height)
            model.latent.values.copy_(torch.from_numpy(np.array(w.latent)))
        for part in model.parts():  # the stored values, not quantised again
            part.load_from(w)
        for layer, weight, bias in zip(model.layers, w.weights, w.biases):
            layer.weight.copy_(torch.from_numpy(np.array(weight)))
            layer.bias.copy_(torch.from_numpy(np.array(bias)))
        if model.time_layer is not None:
            model.time_layer.weight.copy_(torch.from_numpy(np.array(w.time_weight)))
            model.time_layer.bias.copy_(torch.from_numpy(np.array(w.time_bias_vector)))
    return model.eval()
