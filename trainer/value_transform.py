"""The trained value domain (torch): y = transform(x / scale), and its inverse for the linear loss."""

import math

import torch

from todlm.format.model_config import ValueConfig


def forward(x: torch.Tensor, v: ValueConfig) -> torch.Tensor:
    x = x / v.scale
    if v.transform == "gamma":
        return x.clamp_min(0).pow(1.0 / v.gamma)
    if v.transform == "log1p":
        return torch.log1p(x)
    if v.transform == "mulaw":
        return torch.log1p(v.mu * x) / math.log1p(v.mu)
    return x


def inverse(y: torch.Tensor, v: ValueConfig, scale: torch.Tensor | None = None) -> torch.Tensor:
    """`scale` (a tensor) replaces v.scale: a stacked group's members each have their own."""
    y = y.clamp_min(0)
    if v.transform == "gamma":
        x = y.pow(v.gamma)
    elif v.transform == "log1p":
        x = torch.expm1(y)
    elif v.transform == "mulaw":
        x = torch.expm1(y * math.log1p(v.mu)) / v.mu
    else:
        x = y
    return x * (v.scale if scale is None else scale)
