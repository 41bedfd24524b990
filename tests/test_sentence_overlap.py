"""sentence_overlap (reported in every split) and the speaker check equal their plain pandas definitions,
missing texts and non-string values included, also when asked again of the same manifest (whose
columns are kept after the first call)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ser_bench.plugin_api.types import Split, Subset
from ser_bench.running.splits import sentence_overlap


def by_pandas(split, manifest):
    column = manifest["sentence"]
    seen = set()
    for part in (split.train, split.finetune, split.support):
        if part is not None:
            seen |= set(column.iloc[list(part.indices)].dropna().astype(str))
    return sorted(seen & set(column.iloc[list(split.test.indices)].dropna().astype(str)))


@pytest.mark.parametrize("seed", range(50))
def test_equals_the_pandas_definition(seed):
    rng = np.random.default_rng(seed)
    manifest = pd.DataFrame({"sentence": pd.Series(rng.choice(["kids", "dogs", None, 7, 2.5], size=60), dtype=object)})
    order = [int(i) for i in rng.permutation(60)]
    split = Split(name="s", train=Subset("target", tuple(order[:20])), support=Subset("target", tuple(order[20:30])),
                  test=Subset("target", tuple(order[30:])), finetune=Subset("target", tuple(order[20:25])))
    for _ in range(2):  # the second call reads the column computed by the first
        assert sentence_overlap(split, {"target": manifest}) == by_pandas(split, manifest)


def _speakers_by_pandas(split, manifest):
    """check_speaker_disjoint's overlap as it was computed, straight from pandas on every call."""
    speakers = manifest["speaker"].astype(str)
    seen = set()
    for part in (split.train, split.finetune, split.support):
        if part is not None and part.domain == split.test.domain:
            seen |= set(speakers.iloc[list(part.indices)])
    return sorted(seen & set(speakers.iloc[list(split.test.indices)]))


@pytest.mark.parametrize("seed", range(20))
def test_the_speaker_check_equals_the_pandas_definition(seed):
    from ser_bench.running.splits import check_speaker_disjoint

    rng = np.random.default_rng(seed)
    manifest = pd.DataFrame({"speaker": pd.Series(rng.choice(["a", "b", 3, 4.0, "10"], size=40), dtype=object)})
    order = [int(i) for i in rng.permutation(40)]
    split = Split(name="s", train=Subset("target", tuple(order[:15])), support=Subset("target", tuple(order[15:20])),
                  test=Subset("target", tuple(order[20:])), info={"speaker_overlap_allowed": True})
    for _ in range(2):  # the second call reads the column kept by the first
        assert check_speaker_disjoint(split, {"target": manifest}) == _speakers_by_pandas(split, manifest)
