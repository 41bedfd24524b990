"""Corpus expressions: parsing, filters, speaker halves, errors, results that record them, and the
refusal of a source that shares speakers with its target."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from ser_bench.running.cells import Cell
from ser_bench.plugin_api.context import RunContext
from ser_bench.data.domains import (Filter, check_speakers_disjoint, describe, parse, speaker_halves, view_of)
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.registry import base_name, variant

from .conftest import SHARED_DATA, TINY

RAVDESS = SHARED_DATA / "ravdess-16k"


def manifest(speakers: dict, clips_per_speaker: int = 2) -> pd.DataFrame:
    """A manifest with ``clips_per_speaker`` rows per speaker; ``speakers`` maps id -> sex."""
    rows = [{"path": f"{s}_{i}.wav", "speaker": s, "gender": sex, "emotion": "anger", "sentence": str(i)}
            for s, sex in speakers.items() for i in range(clips_per_speaker)]
    return pd.DataFrame(rows)


def test_an_expression_parses_into_base_filters_and_channels():
    expr = parse("ravdess[sex=female][intensity=normal|strong]+noise:snr=10+telephone")
    assert expr.base == "ravdess"
    assert expr.filters == (Filter("sex", ("female",)), Filter("intensity", ("normal", "strong")))
    assert expr.channels == (("noise", (("snr", "10"),)), ("telephone", ()))


@pytest.mark.parametrize("text, says", [
    ("ravdess[sex=male,female]", "commas"),
    ("ravdess+telephone[sex=male]", "filters come first"),
    ("ravdess[sex]", "is not a [column=value] filter"),
    ("ravdess[sex=]", "needs a column and one or more values"),
    ("ravdess[sex=male", "is not a [column=value] filter"),
    ("ravdess+noise:snr", "is not param=value"),
    ("ravdess++telephone", "is not a channel"),
    ("[sex=male]", "is not a corpus name"),
])
def test_malformed_expressions_say_what_is_wrong_and_show_the_syntax(text, says):
    with pytest.raises(SerBenchError, match="corpus expression") as info:
        parse(text)
    assert says in str(info.value) and "BASE[column=value]" in str(info.value)


@pytest.mark.parametrize("text, says", [
    ("ravdes[sex=male]", "Did you mean 'ravdess'"),
    ("ravdess+telephon", "Did you mean 'telephone'"),
    ("ravdess+noise:sn=3", "Did you mean 'snr'"),
    ("ravdess+noise:snr=loud", "snr takes a number"),
    ("ravdess+reverb:rt60=0", "out of range"),
    ("ravdess+telephone:high_hz=5000", "high_hz < rate/2"),
])
def test_unknown_names_and_bad_channel_parameters_fail_at_lookup(registry, text, says):
    with pytest.raises(SerBenchError, match=says):
        registry.get("datasets", text)


def test_the_registry_returns_a_view_named_by_the_expression(registry):
    spec = registry.get("datasets", "sim-ravdess[half=1]+noise:snr=10")
    assert spec.name == "sim-ravdess[half=1]+noise:snr=10"
    assert spec.params == registry.get("datasets", "sim-ravdess").params
    assert [c.name for c in spec.view.channels] == ["noise"] and spec.view.channels[0].params == {"snr": 10.0}
    assert view_of(registry.get("datasets", "sim-ravdess")).channels == ()
    # the ':' of a channel parameter is no plugin variant (pml:CircleLoss is)
    assert variant("ravdess+noise:snr=10") is None and base_name("ravdess+noise:snr=10") == "ravdess+noise:snr=10"
    assert variant("pml:CircleLoss") == "CircleLoss"
    entry = registry.entry("datasets", "ravdess[sex=female]")
    assert entry.plugin == registry.entry("datasets", "ravdess").plugin


def test_a_result_records_expression_base_filters_and_channels(registry):
    recorded = describe(registry, "ravdess[sex=female]+noise:snr=10+telephone")
    assert recorded["expression"] == "ravdess[sex=female]+noise:snr=10+telephone" and recorded["base"] == "ravdess"
    assert recorded["filters"] == [{"column": "sex", "values": ["female"]}]
    assert [c["name"] for c in recorded["channels"]] == ["noise", "telephone"]
    assert recorded["channels"][0] == {"name": "noise", "version": "1", "params": {"snr": 10.0}}
    assert recorded["channels"][1]["params"]["high_hz"] == 3400.0
    assert describe(registry, "ravdess") == {"expression": "ravdess", "base": "ravdess", "filters": [],
                                             "channels": []}
    json.dumps(recorded)


def test_different_expressions_never_share_a_cell_id():
    bases, filters = ["ravdess", "sim-ravdess"], ["", "[sex=male]", "[sex=female]", "[sex=male|female]",
                                                 "[half=1]", "[half=2]", "[half=1][sex=male]", "[sex=male][half=1]"]
    channels = ["", "+telephone", "+noise:snr=10", "+noise:snr=1", "+noise:snr=1.0", "+noise:snr=10+telephone",
                "+telephone+noise:snr=10", "+opus:bitrate=8000"]
    names = [b + f + c for b, f, c in itertools.product(bases, filters, channels)]
    ids = {Cell(protocol="oodt", loss="bce_pair", source=s, target=t).cell_id()
           for s, t in itertools.product(names[:16], names)}
    assert len(ids) == 16 * len(names)
    assert all("/" not in i and "[" not in i and "|" not in i for i in ids)


def test_halves_are_speaker_disjoint_and_balanced_by_sex_even_with_odd_groups():
    sexes = {f"{i:02d}": ("male" if i % 3 else "female") for i in range(1, 12)}  # 7 male, 4 female
    halves = speaker_halves(manifest(sexes))
    assert set(halves) == set(sexes) and set(halves.values()) == {1, 2}
    for sex in ("male", "female"):
        counts = [sum(1 for s, h in halves.items() if h == half and sexes[s] == sex) for half in (1, 2)]
        assert abs(counts[0] - counts[1]) <= 1
    sizes = [list(halves.values()).count(half) for half in (1, 2)]
    assert abs(sizes[0] - sizes[1]) <= 1
    assert speaker_halves(manifest(sexes).iloc[::-1]) == halves  # the row order does not matter


def test_filters_commute_because_halves_come_from_the_whole_corpus(registry):
    from ser_bench.data.domains import select

    frame = manifest({"01": "male", "02": "female", "03": "male", "04": "female"})
    one = select(frame, parse("x[sex=female][half=1]"))
    other = select(frame, parse("x[half=1][sex=female]"))
    assert one.equals(other) and list(one["speaker"].unique()) == ["02"]


def test_sex_and_gender_name_the_same_column_and_unknown_columns_and_values_are_explained():
    from ser_bench.data.domains import select

    frame = manifest({"01": "male", "02": "female"})
    assert select(frame, parse("x[sex=male]")).equals(select(frame, parse("x[gender=male]")))
    with pytest.raises(SerBenchError, match=r"no column 'sexx'\. Did you mean 'sex'.*Columns: .*gender"):
        select(frame, parse("x[sexx=male]"))
    with pytest.raises(SerBenchError, match=r"sex=femal selects no clip of x\. Values of sex: female, male"):
        select(frame, parse("x[sex=femal|male]"))
    with pytest.raises(SerBenchError, match="half=3 selects no clip.*Values of half: 1, 2"):
        select(frame, parse("x[half=3]"))
    with pytest.raises(SerBenchError, match="the filters together select no clip"):
        select(frame, parse("x[speaker=01][sex=female]"))
    assert list(select(frame, parse("x[sentence=1]"))["sentence"]) == ["1", "1"]  # any column


def test_simulated_halves_are_disjoint_and_balanced(registry, ctx, tiny_corpora):
    params = TINY["sim-ravdess"]
    first = registry.get("datasets", "sim-ravdess[half=1]").load(ctx, **params)
    second = registry.get("datasets", "sim-ravdess[half=2]").load(ctx, **params)
    whole = tiny_corpora["sim-ravdess"]
    assert len(first) + len(second) == len(whole)
    assert not set(first["speaker"]) & set(second["speaker"])
    for half in (first, second):
        assert sorted(half.groupby("speaker")["gender"].first()) == ["female", "male"]


def test_a_source_sharing_speakers_with_its_target_is_refused_naming_them():
    source, target = manifest({"01": "male", "02": "female"}), manifest({"02": "female", "03": "male"})
    with pytest.raises(SerBenchError, match=r"share 1 speakers \(02\).*--source 'ravdess\[half=1\]' "
                                            r"--target 'ravdess\[half=2\]\+telephone'.*\[sex=male\]"):
        check_speakers_disjoint("ravdess", source, "ravdess+telephone", target)
    check_speakers_disjoint("ravdess", source, "sim-ravdess", target)  # other corpora may reuse ids


@pytest.mark.skipif(not RAVDESS.is_dir(), reason="../shared/data/ravdess-16k not present")
def test_real_ravdess_splits_into_12_male_and_12_female_actors(registry, cache_dir, tmp_path):
    ctx = RunContext(data_dirs=[], cache_dir=cache_dir, corpus_paths={"ravdess": str(RAVDESS)}, workers=1)
    male = registry.get("datasets", "ravdess[sex=male]").load(ctx)
    female = registry.get("datasets", "ravdess[sex=female]").load(ctx)
    assert sorted(male["speaker"].unique()) == [f"{a:02d}" for a in range(1, 25, 2)]
    assert sorted(female["speaker"].unique()) == [f"{a:02d}" for a in range(2, 25, 2)]
    assert len(male) == len(female) == 720
    halves = [registry.get("datasets", f"ravdess[half={h}]").load(ctx) for h in (1, 2)]
    assert not set(halves[0]["speaker"]) & set(halves[1]["speaker"])
    for half in halves:
        assert half.groupby("speaker")["gender"].first().value_counts().to_dict() == {"male": 6, "female": 6}


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ser_bench.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=dict(os.environ), timeout=600)


FAST = ["--train-param", "epochs=2", "--train-param", "finetune_steps=3", "--executor", "serial", "--seed", "0"]


@pytest.mark.slow
def test_run_from_one_half_to_the_other_over_a_telephone_line(tmp_path, cache_dir, tiny_corpora):
    source, target = "sim-ravdess[half=1]", "sim-ravdess[half=2]+telephone"
    results = tmp_path / "results"
    args = ["-q", "run", "--protocol", "oodt", "--loss", "bce_pair", "--source", source, "--target", target,
            "--dataset-param", f"{source}.speakers=4", "--dataset-param", f"{target}.speakers=4", *FAST,
            "--results", str(results), "--cache-dir", str(cache_dir)]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [path] = results.glob("*.json")
    payload = json.loads(path.read_text())
    assert payload["data"]["source"]["domain"]["filters"] == [{"column": "half", "values": ["1"]}]
    domain = payload["data"]["target"]["domain"]
    assert domain["base"] == "sim-ravdess" and domain["expression"] == target
    assert domain["channels"][0]["name"] == "telephone" and domain["channels"][0]["version"] == "1"
    assert payload["data"]["source"]["speakers"] == payload["data"]["target"]["speakers"] == 2
    rerun = run_cli(*args, cwd=tmp_path)
    assert rerun.returncode == 0 and "0 cells run, 1 already" in rerun.stderr


def test_a_run_whose_source_shares_speakers_with_its_target_fails_before_training(tmp_path, cache_dir,
                                                                                   tiny_corpora):
    source, target = "sim-ravdess", "sim-ravdess[half=2]+telephone"
    proc = run_cli("run", "--protocol", "oodt", "--loss", "bce_pair", "--source", source, "--target", target,
                   "--dataset-param", f"{source}.speakers=4", "--dataset-param", f"{target}.speakers=4", *FAST,
                   "--results", str(tmp_path / "results"), "--cache-dir", str(cache_dir), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "share 2 speakers (03, 04)" in proc.stderr and "[half=1]" in proc.stderr
    assert not list((tmp_path / "results").glob("*.json"))
