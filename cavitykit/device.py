"""Where torch computes: the one place that turns a user's ``device`` argument into a ``torch.device``
(the cavity engine, the IMP runner and the command line all ask here)."""

from __future__ import annotations

import torch


def resolve_device(device) -> torch.device:
    """``None`` is the CPU; strings and devices pass through checked.

    CUDA is used only when asked for: that route is checked against the CPU route by the ``gpu`` tests,
    which have not yet run on a GPU.
    """
    if device is None:
        return torch.device("cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device must be 'cpu', 'cuda' or a torch.device, got {device!r}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} but torch sees no CUDA device")
    return device
