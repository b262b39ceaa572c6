"""The gate's statistics: a two-sided Mann-Whitney U test (stdlib only), for wall-clock series with enough
repetitions. Checked against scipy in tests/harness/test_gate.py."""
import math
from functools import lru_cache
from typing import List, Sequence, Tuple


def _ranks(values: Sequence[float]) -> Tuple[List[float], List[int]]:
    """Average ranks (1-based) and the sizes of the tie groups."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


@lru_cache(maxsize=None)
def _arrangements(a: int, b: int, k: int) -> int:
    """How many orderings of a and b samples have U = k (built up one sample at a time)."""
    if k < 0:
        return 0
    if a == 0 or b == 0:
        return 1 if k == 0 else 0
    return _arrangements(a - 1, b, k - b) + _arrangements(a, b - 1, k)


def _exact_u_cdf(n1: int, n2: int, u: int) -> float:
    """P(U <= u) under H0 without ties (fine for n1, n2 <= 25)."""
    return sum(_arrangements(n1, n2, k) for k in range(u + 1)) / math.comb(n1 + n2, n1)


def mann_whitney_u(a: Sequence[float], b: Sequence[float]) -> Tuple[float, float]:
    """Two-sided Mann-Whitney U test. Returns (U, p). Exact without ties for small samples, otherwise the normal
    approximation with tie and continuity corrections (as scipy's default 'auto' does)."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return float("nan"), 1.0
    ranks, ties = _ranks(list(a) + list(b))
    r1 = sum(ranks[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2.0
    u = min(u1, n1 * n2 - u1)
    if not ties and n1 <= 25 and n2 <= 25:
        return u, min(1.0, 2.0 * _exact_u_cdf(n1, n2, int(u)))
    n = n1 + n2
    tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1))
    sigma = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term))
    if sigma == 0:
        return u, 1.0
    z = (abs(u - n1 * n2 / 2.0) - 0.5) / sigma
    return u, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0)))
