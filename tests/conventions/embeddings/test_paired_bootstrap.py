"""The lift intervals that `bench_train_embeddings.py` prints: a paired bootstrap over a set's queries."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from paired_bootstrap import lift_interval  # noqa: E402


def test_the_interval_holds_the_observed_lift_and_narrows_with_more_queries() -> None:
    before = [1.0, 0.5, 0.0, 0.25, 0.0, 1.0, 0.333, 0.0, 0.5, 0.2] * 10
    after = [1.0, 1.0, 0.0, 0.25, 0.1, 1.0, 0.5, 0.0, 0.5, 0.2] * 10  # 4.55 against 3.783 per ten queries: +20.3 %
    low, high, share = lift_interval([(before, after)])
    assert low < sum(after) / sum(before) - 1 < high
    assert 0 < low and share > 0.9
    wide_low, wide_high, _ = lift_interval([(before[:30], after[:30])])
    assert wide_high - wide_low > high - low


def test_pairing_keeps_a_uniform_gain_certain_where_unpaired_scores_would_not_be() -> None:
    before = [i / 100 for i in range(1, 101)]
    after = [score * 1.05 for score in before]  # every query gains exactly 5 %
    low, high, share = lift_interval([(before, after)])
    assert low == pytest.approx(0.05) and high == pytest.approx(0.05) and share == 0.0


def test_pooled_sets_are_resampled_each_on_its_own() -> None:
    gains = ([0.5] * 50, [1.0] * 50)
    flat = ([0.5] * 50, [0.5] * 50)
    low, high, _ = lift_interval([gains, flat])
    assert low == pytest.approx(0.5) and high == pytest.approx(0.5)  # each set keeps its 50 queries every round


def test_unpaired_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="same, non-zero number"):
        lift_interval([([0.5, 1.0], [1.0])])
