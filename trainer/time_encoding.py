"""Time features (torch): a smooth periodic encoding of t (24 wraps to 0) and the lamp bit."""

import math

import torch

from todlm.format.model_config import TimeConfig


def time_features(t: torch.Tensor, cfg: TimeConfig) -> torch.Tensor:
    """t: [N] hours -> [N, E] float32."""
    t = torch.remainder(t.to(torch.float32), 24.0)
    parts = []
    if cfg.encoding == "fourier":
        k = torch.arange(1, cfg.frequencies + 1, dtype=torch.float32, device=t.device)
        phase = t[:, None] * k[None, :] * (2.0 * math.pi / 24.0)
        parts += [torch.sin(phase), torch.cos(phase)]
    else:
        u = t / (24.0 / cfg.knots)
        k0 = torch.floor(u)
        frac = (u - k0)[:, None]
        k0 = k0.long() % cfg.knots
        k1 = (k0 + 1) % cfg.knots
        knot = torch.arange(cfg.knots, device=t.device)[None, :]
        parts.append((knot == k0[:, None]) * (1.0 - frac) + (knot == k1[:, None]) * frac)  # out of place: vmap-able
    if cfg.lamp_state:
        parts.append(((t < 6.0) | (t > 18.0)).to(torch.float32)[:, None])
    return torch.cat(parts, dim=1)
