"""Reference estimators computed the slow, obvious way."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction

import numpy as np


def _set_partition_types(order: int):
    """(block sizes, number of set partitions of {1..order} with those sizes)."""

    def partitions(n, largest):
        if n == 0:
            yield ()
            return
        for first in range(min(n, largest), 0, -1):
            for rest in partitions(n - first, first):
                yield (first, *rest)

    for sizes in partitions(order, order):
        count = math.factorial(order) // (
            math.prod(math.factorial(s) for s in sizes) * math.prod(math.factorial(k) for k in Counter(sizes).values())
        )
        yield sizes, count


def kstat_by_definition(sample, order: int) -> Fraction:
    """Exact k-statistic of a small integer (or Fraction) sample, straight from its definition.

    k_n = sum over set partitions pi of {1..n} of (-1)^(|pi|-1) (|pi|-1)! times the
    unbiased estimate of prod_{B in pi} mu'_|B|, which is the average over ordered
    tuples of *distinct* sample indices of prod_B x_{i_B}^|B|.  Enumerates those
    tuples directly: cost grows like len(sample)^order, keep samples tiny.

    Examples
    --------
    >>> kstat_by_definition([1, 2, 3, 7], 2)  # the sample variance, exactly
    Fraction(83, 12)
    """
    values = [Fraction(v) for v in sample]
    if all(v.denominator == 1 for v in values):
        values = [int(v) for v in values]  # exact too, and far faster inside the enumeration
    size = len(values)
    if size < order:
        raise ValueError(f"sample needs at least {order} values, got {size}")
    total = Fraction(0)
    for sizes, count in _set_partition_types(order):
        m = len(sizes)
        tuple_sum = sum(
            math.prod(values[i] ** s for i, s in zip(indices, sizes, strict=True))
            for indices in itertools.permutations(range(size), m)
        )
        falling = math.perm(size, m)
        total += Fraction(count * (-1) ** (m - 1) * math.factorial(m - 1) * tuple_sum, falling)
    return total


def kstat_two_pass(x, order: int, *, axis: int = 0) -> np.ndarray:
    """k-statistic from a two-pass, extended-precision (long double) computation.

    First pass: the mean; second pass: central power sums.  Uses the textbook
    closed forms for orders 2..4 (Kendall & Stuart), independent of the
    generated formulas.

    Examples
    --------
    >>> import numpy as np
    >>> from cavitykit import kstat
    >>> x = np.random.default_rng(0).standard_normal(1000)
    >>> bool(np.isclose(kstat_two_pass(x, 4), kstat(x, 4)))
    True
    """
    x = np.moveaxis(np.asarray(x, dtype=np.longdouble), axis, 0)
    n = np.longdouble(x.shape[0])
    centred = x - x.mean(axis=0)
    m = {r: (centred**r).sum(axis=0) / n for r in (2, 3, 4)}
    if order == 1:
        return x.mean(axis=0)
    if order == 2:
        return n * m[2] / (n - 1)
    if order == 3:
        return n**2 * m[3] / ((n - 1) * (n - 2))
    if order == 4:
        return n**2 * ((n + 1) * m[4] - 3 * (n - 1) * m[2] ** 2) / ((n - 1) * (n - 2) * (n - 3))
    raise ValueError(f"order must be 1..4, got {order}")
