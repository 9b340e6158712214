"""What the drivers count as divergence: a NaN, or a value beyond OVERFLOW in absolute value
(beyond it a product of two values overflows float64, so the run can no longer be trusted)."""
from __future__ import annotations

import numpy as np

OVERFLOW = 1e150


def bounded(x) -> bool:
    """True if every entry of x is below OVERFLOW in absolute value (False for any NaN)."""
    return bool(np.all(np.abs(x) < OVERFLOW))
