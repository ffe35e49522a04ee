"""`python -m bench`: xmlcurl is compared with the floor round by round."""
from __future__ import annotations

from bench.run import paired_ratios
from bench.wrk import Load


def _load(rps: float, p99: float) -> Load:
    return Load(requests_per_second=rps, p50_ms=1.0, p99_ms=p99, errors=0, requests=int(rps))


def test_ratios_are_the_median_of_each_rounds_pair_not_the_ratio_of_medians():
    # The machine slows down in round 2: both servers lose half their speed there.
    floor = [_load(1000, 10), _load(500, 20), _load(1000, 10)]
    xmlcurl = [_load(950, 11), _load(480, 21), _load(900, 12)]
    ratios = paired_ratios(floor, xmlcurl)
    assert ratios["rps_vs_floor"] == 0.95
    assert ratios["rps_vs_floor_range"] == [0.9, 0.96]
    assert ratios["p99_vs_floor"] == 1.1
    assert ratios["p99_vs_floor_range"] == [1.05, 1.2]


def test_a_floor_round_that_served_nothing_is_left_out_of_the_ratios():
    ratios = paired_ratios([_load(0, 0), _load(1000, 10)], [_load(900, 12), _load(900, 12)])
    assert ratios["rps_vs_floor"] == 0.9 and ratios["p99_vs_floor"] == 1.2
    assert paired_ratios([_load(0, 0)], [_load(900, 12)])["rps_vs_floor"] is None
