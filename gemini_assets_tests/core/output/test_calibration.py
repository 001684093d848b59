"""Calibration and the recommended threshold: figures worked out by hand."""

from __future__ import annotations

import pytest

from gemini_assets.core.output.calibration import calibrate, recommend_threshold

# (confidence, correct)
POINTS = [
    (0.95, True),
    (0.92, True),
    (0.91, False),
    (0.85, True),
    (0.72, True),
    (0.70, False),  # on a boundary: the upper bucket, 0.7-0.8
    (0.35, False),
    (0.30, True),
]


def test_buckets_and_expected_calibration_error():
    result = calibrate(POINTS, buckets=10)
    filled = {round(b.low, 1): (b.count, b.mean_confidence, b.accuracy) for b in result.buckets if b.count}
    assert filled == {
        0.9: (3, pytest.approx((0.95 + 0.92 + 0.91) / 3), pytest.approx(2 / 3)),  # conf 0.9267, acc 0.6667: gap 0.26
        0.8: (1, pytest.approx(0.85), 1.0),  # gap 0.15
        0.7: (2, pytest.approx(0.71), 0.5),  # gap 0.21
        0.3: (2, pytest.approx(0.325), 0.5),  # gap 0.175
    }
    empty = [b for b in result.buckets if not b.count]
    assert len(result.buckets) == 10 and all(b.mean_confidence is None and b.accuracy is None for b in empty)
    # weighted by bucket size: (3*0.26 + 1*0.15 + 2*0.21 + 2*0.175) / 8 = 1.70 / 8
    assert result.items == 8 and result.ece == pytest.approx(0.2125)


def test_fewer_buckets_and_the_edges():
    # two buckets: [0, 0.5) holds 0.35 and 0.30 (conf 0.325, acc 0.5: gap 0.175); [0.5, 1] the
    # other six (conf 5.05/6 = 0.8417, acc 4/6 = 0.6667: gap 0.175) -> ECE 0.175
    assert calibrate(POINTS, buckets=2).ece == pytest.approx(0.175)
    edges = calibrate([(0.0, False), (1.0, True), (0.5, True)], buckets=2)
    assert [b.count for b in edges.buckets] == [1, 2] and edges.ece == pytest.approx((0 + 2 * 0.25) / 3)
    assert calibrate([]).ece is None
    with pytest.raises(ValueError, match=r"in 0\.\.1"):
        calibrate([(1.2, True)])


def test_the_lowest_threshold_that_meets_the_target_precision():
    # from the top: 0.95 1/1, 0.92 2/2, 0.91 2/3, 0.85 3/4 = 0.75, 0.72 4/5 = 0.8, 0.70 4/6,
    # 0.35 4/7, 0.30 5/8. Target 0.75 with at least 3 accepted: 0.85 and 0.72 qualify; lowest 0.72.
    choice = recommend_threshold(POINTS, target_precision=0.75, min_count=3)
    assert choice is not None
    assert (choice.threshold, choice.precision, choice.accepted, choice.coverage) == (0.72, 0.8, 5, 5 / 8)
    # 0.9 is only met by 0.95 (1 answer) and 0.92 (2 answers): too few for min_count 3
    assert recommend_threshold(POINTS, target_precision=0.9, min_count=3) is None
    relaxed = recommend_threshold(POINTS, target_precision=0.9, min_count=2)
    assert relaxed is not None and (relaxed.threshold, relaxed.precision, relaxed.accepted) == (0.92, 1.0, 2)


def test_a_threshold_accepts_every_answer_at_its_value():
    # At 0.8 both 0.8 answers are in: 2/3 < 0.75, so 0.8 does not qualify even though the first
    # 0.8 answer alone would make 2/2.
    choice = recommend_threshold([(0.9, True), (0.8, True), (0.8, False)], target_precision=0.75, min_count=1)
    assert choice is not None and (choice.threshold, choice.accepted) == (0.9, 1)
    assert recommend_threshold([], target_precision=0.5, min_count=1) is None
