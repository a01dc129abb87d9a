"""Derive the k-statistics k_1..k_8 in central power sums and write them as code.

Run ``python theory/derive_kstatistics.py`` to regenerate
``cavitykit/stats/_kstat_formulas.py``; ``tests/stats/test_formulas.py`` checks
that the committed file is what this script produces.  The derivation is
explained in ``theory/kstatistics.md``.

Derivation (Fisher 1929; Kendall & Stuart ch. 12), in three exact steps:

1. The cumulant is a polynomial in raw moments over set partitions pi of
   {1..n}: kappa_n = sum_pi (-1)^(|pi|-1) (|pi|-1)! prod_{B in pi} mu'_|B|.
2. For i.i.d. samples, prod_j mu'_{r_j} (m factors) has the unbiased,
   symmetric estimator A_r / (N)_m, where A_r = sum over *distinct* indices
   i_1..i_m of prod_j x_{i_j}^{r_j} (augmented monomial symmetric function)
   and (N)_m is the falling factorial.  Hence k_n = sum_pi ... A / (N)_m.
3. Moebius inversion on the partition lattice writes A_r in power sums
   s_q = sum_i x_i^q: A_r = sum_sigma prod_{C in sigma} (-1)^(|C|-1)
   (|C|-1)! s_{sum_{j in C} r_j}, sigma running over set partitions of the
   m factors.

A product of cumulants (a polykay, e.g. k_{22} for kappa_2^2) follows the
same three steps with the product of the factors' expansions in step 1.

Evaluated on data centred at their sample mean, s_1 = 0 and every term that
contains s_1 vanishes; what is left is written out below.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

import sympy

MAX_ORDER = 8
# Polykays k_{nn}, unbiased for kappa_n^2: k_n^2 - k_{nn} is the unbiased estimate of Var(k_n).
# (Only shift-invariant products can be written in central sums, so n >= 2.)
POLYKAY_ORDERS = ((2, 2), (3, 3), (4, 4))
N = sympy.Symbol("N", positive=True)
TARGET = Path(__file__).resolve().parents[1] / "cavitykit" / "stats" / "_kstat_formulas.py"


def integer_partitions(n: int, largest: int | None = None):
    """Yield the partitions of ``n`` as non-increasing tuples."""
    largest = n if largest is None else largest
    if n == 0:
        yield ()
        return
    for first in range(min(n, largest), 0, -1):
        for rest in integer_partitions(n - first, first):
            yield (first, *rest)


def set_partitions(items: list):
    """Yield the set partitions of ``items`` as lists of blocks."""
    if not items:
        yield []
        return
    head, tail = items[0], items[1:]
    for partition in set_partitions(tail):
        yield [[head], *partition]
        for i in range(len(partition)):
            yield [*partition[:i], [head, *partition[i]], *partition[i + 1 :]]


def falling_factorial(x, m: int):
    return sympy.prod([x - j for j in range(m)])


def set_partition_types(order: int):
    """(block sizes, number of set partitions of {1..order} with those sizes, cumulant weight)."""
    for block_sizes in integer_partitions(order):
        m = len(block_sizes)
        count = math.factorial(order) // (
            math.prod(math.factorial(r) for r in block_sizes)
            * math.prod(math.factorial(k) for k in Counter(block_sizes).values())
        )
        yield block_sizes, count * (-1) ** (m - 1) * math.factorial(m - 1)


def augmented_monomial(block_sizes: tuple[int, ...]) -> dict[tuple[int, ...], int]:
    """Step 3: the distinct-index sum A_r as integer combination of power-sum products."""
    terms: dict[tuple[int, ...], int] = defaultdict(int)
    for sigma in set_partitions(list(range(len(block_sizes)))):
        moebius = math.prod((-1) ** (len(c) - 1) * math.factorial(len(c) - 1) for c in sigma)
        terms[tuple(sorted((sum(block_sizes[j] for j in c) for c in sigma), reverse=True))] += moebius
    return terms


def cumulant_product_in_power_sums(orders: tuple[int, ...]) -> dict[tuple[int, ...], sympy.Expr]:
    """Unbiased estimator of prod_j kappa_{orders[j]} (a k-statistic for one order, a
    polykay for several) as coefficients of power-sum products, rational in N (raw, s_1 kept).

    Steps 1 and 2 for each factor, multiplied out: the product of the factors'
    moment expansions is a sum of raw-moment products, each estimated by A / (N)_m.
    """
    by_degree: dict[tuple[tuple[int, ...], int], int] = defaultdict(int)
    factors = [list(set_partition_types(order)) for order in orders]
    for combination in itertools.product(*factors):
        block_sizes = tuple(sorted((r for sizes, _ in combination for r in sizes), reverse=True))
        weight = math.prod(w for _, w in combination)
        for key, moebius in augmented_monomial(block_sizes).items():
            by_degree[key, len(block_sizes)] += weight * moebius
    terms: dict[tuple[int, ...], sympy.Expr] = defaultdict(lambda: sympy.Integer(0))
    for (key, m), coefficient in by_degree.items():
        terms[key] += sympy.Integer(coefficient) / falling_factorial(N, m)
    return {key: sympy.factor(sympy.together(value)) for key, value in terms.items() if value != 0}


def central_terms(orders: tuple[int, ...]) -> dict[tuple[int, ...], sympy.Expr]:
    """Terms that survive on mean-centred data (no s_1 factor)."""
    return {key: value for key, value in cumulant_product_in_power_sums(orders).items() if 1 not in key}


def integer_coefficients(poly: sympy.Expr) -> tuple[int, ...]:
    """Coefficients of a polynomial in N, highest degree first."""
    return tuple(int(c) for c in sympy.Poly(sympy.expand(poly), N).all_coeffs())


def render_module() -> str:
    lines = [
        '"""k-statistics in central power sums, generated by theory/derive_kstatistics.py.',
        "",
        "Do not edit by hand: run ``python theory/derive_kstatistics.py``.",
        "",
        "``KSTAT_TERMS[n]`` lists the terms of k_n evaluated on data centred at their",
        "sample mean (power sum s_1 = 0).  Each term is ``(powers, numerator,",
        "denominator)``: the product of central power sums M_r for r in ``powers``,",
        "times numerator(N) / denominator(N), two integer polynomials in the sample",
        "size N with coefficients listed from the highest degree down.",
        "",
        "``POLYKAY_TERMS[(n, n)]`` has the same form for the polykay k_{nn}, the",
        "unbiased estimator of kappa_n ** 2.",
        '"""',
        "",
    ]

    def table(name, keys):
        lines.append(f"{name} = {{")
        for label, orders in keys:
            lines.append(f"    {label!r}: (")
            for key, value in sorted(central_terms(orders).items()):
                numerator, denominator = sympy.fraction(value)
                lines.append(
                    f"        ({key!r}, {integer_coefficients(numerator)!r}, {integer_coefficients(denominator)!r}),"
                )
            lines.append("    ),")
        lines.append("}")

    table("KSTAT_TERMS", [(order, (order,)) for order in range(2, MAX_ORDER + 1)])
    lines.append("")
    table("POLYKAY_TERMS", [(orders, orders) for orders in POLYKAY_ORDERS])
    return "\n".join(lines) + "\n"


def render_latex() -> str:
    """The formulas as LaTeX, for theory/kstatistics.md."""
    rows = []
    for order in range(2, MAX_ORDER + 1):
        expr = sum(
            value * sympy.prod([sympy.Symbol(f"M_{r}") for r in key]) for key, value in central_terms((order,)).items()
        )
        rows.append(f"$$k_{order} = {sympy.latex(expr)}$$")
    return "\n\n".join(rows)


if __name__ == "__main__":
    if sys.argv[1:] == ["--latex"]:
        print(render_latex())
    else:
        TARGET.write_text(render_module())
        print(f"wrote {TARGET}")
