import pytest

from recipekit import report


def test_laps_add_the_seconds_since_the_previous_lap(monkeypatch):
    clock = iter([10.0, 12.5, 13.0, 20.25])
    monkeypatch.setattr(report.time, "perf_counter", lambda: next(clock))
    laps = report.Laps()  # 10.0
    laps.lap("load")  # 12.5
    laps.lap("train")  # 13.0
    laps.lap("load")  # 20.25: a name lapped again adds up
    assert laps.seconds == {"load": 9.75, "train": 0.5}


@pytest.mark.parametrize("name", ["", None, 3])
def test_a_lap_needs_a_name(name):
    with pytest.raises(ValueError, match="Argument `name` must be a non-empty string"):
        report.Laps().lap(name)
