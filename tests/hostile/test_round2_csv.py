"""Round 2, CSV manifests (``--dataset-param csv.path=...``): every cell that cannot be used is refused
when the manifest is read, naming the file, the row as a spreadsheet shows it (the header is row 1) and
the column; a file that is not a CSV manifest (audio, binary, another encoding, a folder) is named as
what it is; dimensional values on another scale are refused with the range found and how to rescale."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ser_bench.cli.main import main
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.context import RunContext

TONE = (0.3 * np.sin(2 * np.pi * 220 * np.arange(8000) / 16000)).astype(np.float32)


@pytest.fixture()
def folder(tmp_path) -> Path:
    """Four clips, a.wav .. d.wav, beside the manifests the tests write."""
    for k, name in enumerate("abcd"):
        sf.write(tmp_path / f"{name}.wav", TONE * (1 + 0.1 * k), 16000, subtype="PCM_16")
    return tmp_path


def write(folder: Path, text: str, name: str = "mine.csv") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def load(registry, path, skip: bool = False, **params):
    """The csv loader on ``path``; returns (manifest, warnings)."""
    seen: list = []
    ctx = RunContext(data_dirs=[], cache_dir=Path(path).parent / "cache", workers=1, skip_bad_files=skip,
                     on_warning=seen.append)
    return registry.get("datasets", "csv").load(ctx, path=str(path), **params), seen


def refused(registry, path, **params) -> str:
    with pytest.raises(SerBenchError) as info:
        load(registry, path, **params)
    return str(info.value)


@pytest.mark.parametrize("column, text, row", [
    ("path", "path,speaker,emotion\na.wav,1,anger\n\n,1,sadness\n", 4),  # a blank line is a row too
    ("speaker", "path,speaker,emotion\na.wav,1,anger\nb.wav,,sadness\n", 3),
    ("speaker", "path,speaker,emotion\na.wav,1,anger\nb.wav,  ,sadness\nc.wav,2,anger\n", 3),
    ("emotion", "path,speaker,emotion\na.wav,1,anger\nb.wav,1,sadness\nc.wav,2,\n", 4),
    ("emotion", "path,speaker,emotion,arousal,valence\na.wav,1,anger,,\nb.wav,1,,0.5,\n", 3),
])
def test_an_empty_cell_is_an_error_naming_file_row_and_column(column, text, row, registry, folder):
    csv = write(folder, text)
    message = refused(registry, csv)
    assert str(csv) in message and f"row {row}, column {column}: empty" in message, message
    assert "the header is row 1" in message


def test_every_empty_cell_is_listed_at_once(registry, folder):
    csv = write(folder, "path,speaker,emotion\n,1,anger\nb.wav,,sadness\nc.wav,2,\n")
    message = refused(registry, csv)
    for row, column in [(2, "path"), (3, "speaker"), (4, "emotion")]:
        assert f"row {row}, column {column}: empty" in message, message


def test_a_row_with_arousal_and_valence_but_no_emotion_is_read_and_said_to_be_left_out(registry, folder):
    csv = write(folder, "path,speaker,emotion,arousal,valence\na.wav,1,anger,,\nb.wav,1,,0.5,-0.2\n"
                        "c.wav,2,sadness,-0.3,\n")
    manifest, warnings = load(registry, csv)
    assert [Path(p).name for p in manifest["path"]] == ["a.wav", "c.wav"]
    assert manifest["arousal"].tolist() == pytest.approx([0.7, -0.3])  # annotated values are kept
    assert manifest["valence"].tolist() == pytest.approx([-0.6, -0.7])  # missing ones from the circumplex
    (warning,) = warnings
    assert str(csv) in warning and "row 3" in warning and "no emotion" in warning and "--labels" in warning


def test_a_manifest_of_arousal_and_valence_alone_is_refused_at_load(registry, folder):
    csv = write(folder, "path,speaker,arousal,valence\na.wav,1,0.5,0.1\nb.wav,2,-0.5,0.2\n")
    message = refused(registry, csv)
    assert str(csv) in message and "emotion" in message and "--labels" in message


@pytest.mark.parametrize("value", ["high", "0,5", "inf"])
def test_a_dimension_that_is_not_a_number_is_refused_at_load(value, registry, folder):
    csv = write(folder, f'path,speaker,arousal,valence,emotion\na.wav,1,0.5,0.1,anger\nb.wav,1,"{value}",0.2,fear\n')
    message = refused(registry, csv)
    assert str(csv) in message and f"row 3, column arousal: {value!r}" in message, message
    assert "[-1, 1]" in message


@pytest.mark.parametrize("scale", [(1, 5), (1, 7)])
def test_dimensions_on_a_rating_scale_are_refused_with_the_range_and_how_to_rescale(scale, registry, folder):
    low, high = scale
    rows = [f"{n}.wav,{k % 2},{low + k % (high - low + 1)},{high - k % 3},anger" for k, n in enumerate("abcd")]
    csv = write(folder, "path,speaker,arousal,valence,emotion\n" + "\n".join(rows) + "\n")
    message = refused(registry, csv)
    assert str(csv) in message and "outside [-1, 1]" in message, message
    assert f"column arousal: values from {low} to {low + 3}, outside [-1, 1] in rows 3, 4, 5" in message
    assert f"column valence: values from {high - 2} to {high}, outside [-1, 1] in rows 2, 3, 4, 5" in message
    middle = (low + high) / 2
    assert f"(x - {middle:g}) / {(high - low) / 2:g}" in message


def test_dimensions_inside_minus_one_to_one_are_kept_as_given(registry, folder):
    csv = write(folder, "path,speaker,arousal,valence,emotion\na.wav,1,1,-1,anger\nb.wav,2,-0.25,0.75,fear\n")
    manifest, warnings = load(registry, csv)
    assert manifest["arousal"].tolist() == [1.0, -0.25] and manifest["valence"].tolist() == [-1.0, 0.75]
    assert not warnings


@pytest.mark.parametrize("kind", ["wav", "flac", "binary"])
def test_csv_path_naming_audio_or_a_binary_file_is_refused_as_such(kind, registry, folder):
    target = folder / f"clip.{kind}"
    if kind == "binary":
        target.write_bytes(bytes(range(256)) * 4)
    else:
        sf.write(target, TONE, 16000)
    message = refused(registry, target)
    assert str(target) in message and "not a CSV manifest" in message, message
    assert ("audio" in message.replace(str(target), "")) == (kind != "binary")


def test_a_manifest_in_another_encoding_is_refused_naming_the_row(registry, folder):
    csv = folder / "latin1.csv"
    csv.write_bytes("path,speaker,emotion\na.wav,Zoë,anger\n".encode("latin-1"))
    message = refused(registry, csv)
    assert str(csv) in message and "UTF-8" in message and "row 2" in message, message


@pytest.mark.parametrize("text, expected", [
    ("", "is empty"),
    ("path,speaker,emotion\na.wav,1,anger\nb.wav,1,sadness,extra\n", "row 3"),
    ("path;speaker;emotion\na.wav;1;anger\n", "separated by ';'"),
    ("path,speaker,emotion\n", "lists no clips"),
])
def test_a_manifest_that_is_not_a_usable_csv_says_why(text, expected, registry, folder):
    csv = write(folder, text)
    message = refused(registry, csv)
    assert str(csv) in message and expected in message, message


def test_csv_path_naming_a_folder_says_it_is_a_folder(registry, folder):
    write(folder, "path,speaker,emotion\na.wav,1,anger\n", name="corpus.csv")
    message = refused(registry, folder)
    assert f"{folder} is a folder" in message and "does not exist" not in message
    assert str(folder / "corpus.csv") in message  # the manifest it probably meant


def test_a_row_naming_a_folder_says_it_is_a_folder(registry, folder):
    (folder / "clips").mkdir()
    csv = write(folder, "path,speaker,emotion\na.wav,1,anger\nclips,1,sadness\n")
    message = refused(registry, csv)
    assert str(folder / "clips") in message and "row 3" in message and "is a folder" in message
    assert "missing" not in message
    manifest, _ = load(registry, csv, skip=True)
    assert len(manifest) == 1


def test_the_cli_shows_a_bad_manifest_as_an_error_not_a_traceback(folder, capsys):
    code = main(["datasets", "check", "csv", "--dataset-param", f"path={folder / 'a.wav'}",
                 "--cache-dir", str(folder / "cache")])
    err = capsys.readouterr().err
    assert code == 2 and "ser-bench: error:" in err and "Traceback" not in err
    assert str(folder / "a.wav") in err and "not a CSV manifest" in err
