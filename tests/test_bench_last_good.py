"""bench.last_good runs both ways and reports a figure for every column."""
import re

import pytest

from bench import last_good
from xmlcurl.fetch import lastgood


@pytest.mark.parametrize("how", [[], ["--direct", "--batch", "20", "--checkpoint-pages", "1000"]])
def test_the_store_benchmark_prints_a_round_of_figures(how, monkeypatch, capsys):
    # main() sets the store's checkpoint interval for its process: put it back for the tests after.
    monkeypatch.setattr(lastgood, "WAL_CHECKPOINT_PAGES", lastgood.WAL_CHECKPOINT_PAGES)
    monkeypatch.setattr("sys.argv", ["last_good", "--entries", "200", "--prefill", "100", "--rate", "2000",
                                     "--rounds", "1", *how])
    last_good.main()
    lines = capsys.readouterr().out.splitlines()
    assert ("direct, batches of 20" in lines[0]) == bool(how)
    figures = [float(x) for x in re.findall(r"\d+\.\d", lines[-1])]
    assert len(figures) == 4 and figures[1] > 0 and figures[3] > 0
