"""Does the model's confidence mean what it says? Calibration, and the threshold it supports.

Input: one ``(confidence, correct)`` pair per scored answer (accuracy.py decides ``correct``).
Answers without a confidence cannot be placed; the caller leaves them out.

- Buckets have equal width over 0..1; a confidence on a boundary belongs to the upper bucket,
  and 1.0 to the last one.
- Expected calibration error (ECE): the bucket-size-weighted mean of |accuracy - mean confidence|,
  sum over buckets of (count / N) * |accuracy_b - confidence_b|; empty buckets weigh nothing.
- The recommended threshold for a target precision is the lowest observed confidence ``t`` such
  that the answers with confidence >= ``t`` number at least ``min_count`` and are correct at
  least ``target`` of the time. Lowest, because it keeps the most answers out of review. None when
  no threshold reaches the target with enough answers: the data does not support one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_BUCKETS = 10
DEFAULT_MIN_COUNT = 20
# Confidences are decimals (0.7): 0.7 * 10 is 6.999... in binary, which must still land in bucket 7.
_EDGE = 1e-9

Point = tuple[float, bool]


@dataclass(frozen=True)
class Bucket:
    low: float
    high: float
    count: int
    mean_confidence: float | None  # None when empty
    accuracy: float | None


@dataclass(frozen=True)
class Calibration:
    items: int
    ece: float | None  # None without items
    buckets: list[Bucket]


def _checked(points: Iterable[Point]) -> list[Point]:
    checked = list(points)
    for confidence, _ in checked:
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"a confidence is a value in 0..1, not {confidence}")
    return checked


def bucket_index(confidence: float, buckets: int) -> int:
    return min(int(confidence * buckets + _EDGE), buckets - 1)


def calibrate(points: Iterable[Point], buckets: int = DEFAULT_BUCKETS) -> Calibration:
    if buckets < 1:
        raise ValueError("at least one bucket")
    checked = _checked(points)
    members: list[list[Point]] = [[] for _ in range(buckets)]
    for point in checked:
        members[bucket_index(point[0], buckets)].append(point)
    rows: list[Bucket] = []
    gap = 0.0
    for index, inside in enumerate(members):
        low, high = index / buckets, (index + 1) / buckets
        if not inside:
            rows.append(Bucket(low, high, 0, None, None))
            continue
        confidence = sum(c for c, _ in inside) / len(inside)
        accuracy = sum(ok for _, ok in inside) / len(inside)
        gap += len(inside) * abs(accuracy - confidence)
        rows.append(Bucket(low, high, len(inside), confidence, accuracy))
    return Calibration(items=len(checked), ece=gap / len(checked) if checked else None, buckets=rows)


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    precision: float  # share correct among the answers at or above the threshold
    accepted: int  # answers at or above the threshold
    coverage: float  # accepted / all answers


def recommend_threshold(
    points: Iterable[Point], target_precision: float, min_count: int = DEFAULT_MIN_COUNT
) -> ThresholdChoice | None:
    if not 0.0 <= target_precision <= 1.0:
        raise ValueError(f"a precision is a value in 0..1, not {target_precision}")
    checked = sorted(_checked(points), key=lambda point: point[0], reverse=True)
    choice = None
    correct = 0
    # Walking down from the most confident answer, each distinct confidence is a candidate whose
    # accepted set is everything seen so far; the last one meeting the target is the lowest.
    for index, (confidence, ok) in enumerate(checked):
        correct += ok
        accepted = index + 1
        if accepted < len(checked) and checked[accepted][0] == confidence:
            continue  # a threshold accepts every answer at its value, not some of them
        precision = correct / accepted
        if accepted >= min_count and precision >= target_precision:
            choice = ThresholdChoice(confidence, precision, accepted, accepted / len(checked))
    return choice
