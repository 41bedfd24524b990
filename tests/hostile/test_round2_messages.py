"""Hostile input, second round: messages that did not say what was wrong or what to do. A channel
parameter out of any sensible range, a misspelt --corpus-path name, a config string where a list is
meant, --workers far above the cores, --validation-speakers as many as the speakers, clips that decode
but hold no speech, and library warnings printed with file paths."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from ser_bench.cli.main import main

from .conftest import RATE, clip_name

FAST = ["-q", "run", "--executor", "serial", "--seed", "0", "--train-param", "epochs=2", "--no-leaderboard",
        "--labels", "anger,sadness", "--loss", "logreg"]


def test_a_channel_parameter_out_of_range_is_refused_before_any_work(clean_tree, tmp_path, capsys):
    code = main([*FAST, "--protocol", "idt", "--target", "ravdess+noise:snr=-1e9", "--corpus-path",
                 f"ravdess={clean_tree}", "--cache-dir", str(tmp_path / "cache"), "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "snr='-1e9' is out of range" in err and ">= -30" in err
    assert not (tmp_path / "cache" / "features").exists()


def test_a_misspelt_corpus_path_name_gets_a_suggestion(clean_tree, tmp_path, capsys):
    code = main([*FAST, "--protocol", "idt", "--target", "ravdess", "--corpus-path", f"ravdes={clean_tree}",
                 "--cache-dir", str(tmp_path / "cache"), "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "no dataset called 'ravdes'. Did you mean 'ravdess'" in err


@pytest.mark.parametrize("text, says", [('data_dirs = "/data"', 'data_dirs = \'/data\' should be a list of folders'),
                                        ('[corpora]\nravdess = 3', "should be a table of corpus"),
                                        ('cache_dir = ["/a"]', "should be a folder")])
def test_a_config_value_of_the_wrong_shape_is_named(text, says, tmp_path, capsys):
    config = tmp_path / "ser-bench.toml"
    config.write_text(text + "\n")
    code = main(["datasets", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2 and str(config) in err and says in err


def test_more_workers_than_cores_are_capped_with_a_warning(clean_tree, tmp_path, capsys):
    code = main([*FAST, "--protocol", "idt", "--target", "ravdess", "--corpus-path", f"ravdess={clean_tree}",
                 "--workers", "1000", "--cache-dir", str(tmp_path / "cache"), "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 0 and f"--workers 1000 is more than this machine's {os.cpu_count()} cores" in err


def test_as_many_validation_speakers_as_speakers_is_refused_before_any_work(clean_tree, tmp_path, capsys):
    code = main([*FAST, "--protocol", "idt", "--target", "ravdess", "--corpus-path", f"ravdess={clean_tree}",
                 "--tune", "1", "--validation-speakers", "3", "--cache-dir", str(tmp_path / "cache"),
                 "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "--validation-speakers 3: ravdess has 3 speakers" in err and "at most 2" in err
    assert not (tmp_path / "cache" / "features").exists()


@pytest.mark.parametrize("kind, signal, says, severity", [
    ("near-silent", 1e-4 * np.sin(np.linspace(0, 2000, RATE)), "near-silent", "NOTE"),
    ("one-bit", np.where(np.sin(np.linspace(0, 2000, RATE)) >= 0, 0.5, -0.5), "two sample values only", "NOTE"),
    ("constant", np.full(RATE, 0.25), "constant: every sample is 0.25", "ERROR"),
])
def test_datasets_check_says_when_a_clip_holds_no_speech(kind, signal, says, severity, copy_tree, capsys):
    tree = copy_tree()
    path = tree / clip_name(1, "anger", 0)
    sf.write(path, signal.astype(np.float32), RATE, subtype="PCM_16")
    code = main(["datasets", "check", "ravdess", "--corpus-path", f"ravdess={tree}"])
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if says in line)
    assert line.startswith(severity) and str(path) in line
    assert code == (1 if severity == "ERROR" else 0)


def test_every_warning_prints_as_one_ser_bench_line():
    import subprocess
    import sys

    code = ("import warnings\nfrom ser_bench.errors import warnings_on_one_line\nwarnings_on_one_line()\n"
            "warnings.warn_explicit('lbfgs failed\\nto converge', UserWarning, "
            "'/x/site-packages/sklearn/linear_model/_logistic.py', 460)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stderr == "ser-bench: warning: UserWarning from sklearn: lbfgs failed to converge\n"


def test_a_worker_processes_warnings_print_as_one_ser_bench_line_too():
    """Workers start in a fresh interpreter (fork server or spawn), where the command line's warning format
    was never set: a library's warning in a cell (scipy, scikit-learn) printed Python's two-line form."""
    import subprocess
    import sys

    code = ("import warnings\n"
            "from ser_bench.plugin_api.manager import load_registry\n"
            "spec = load_registry().get('executors', 'process')\n"
            "from tests.hostile.test_round2_messages import _warn_like_scipy\n"
            "ex = spec.build(workers=1)\n"
            "ex.start(1)\n"
            "print(list(ex.map_unordered(_warn_like_scipy, [1])))\n"
            "ex.close()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "ser-bench: warning: ConstantInputWarning from scipy: An input array is constant" in proc.stderr, proc.stderr
    assert "_warn_like_scipy" not in proc.stderr and "warnings.warn" not in proc.stderr


def _warn_like_scipy(item):
    import warnings

    category = type("ConstantInputWarning", (RuntimeWarning,), {})
    warnings.warn_explicit("An input array is constant;\nthe correlation is not defined.", category,
                           "/x/site-packages/scipy/stats/_stats_py.py", 5000)
    return item


def test_a_pool_that_cannot_get_its_shared_memory_is_a_clear_error(clean_tree, cache_dir, tmp_path):
    """``ulimit -f 0`` (or a full /dev/shm) made the process pool's semaphore creation crash with a traceback."""
    import resource
    import subprocess
    import sys

    args = ["-q", "run", "--seed", "0", "--no-leaderboard", "--labels", "anger,sadness", "--loss", "logreg",
            "--protocol", "idt", "--target", "ravdess", "--corpus-path", f"ravdess={clean_tree}",
            "--cache-dir", str(cache_dir)]
    assert main([*args, "--executor", "serial", "--results", str(tmp_path / "warm")]) == 0  # features cached

    def no_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    proc = subprocess.run([sys.executable, "-m", "ser_bench.cli", *args, "--results", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120, preexec_fn=no_files)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot start worker processes" in proc.stderr and "--executor serial" in proc.stderr


def _pids_of_children(pid: int) -> list[int]:
    from pathlib import Path

    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to see the fork server and its workers start")
@pytest.mark.parametrize("when", ["the fork server imports torch", "the workers start"])
def test_ctrl_c_while_workers_are_starting_prints_no_traceback(when, tiny_corpora, cache_dir, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    args = [sys.executable, "-m", "ser_bench.cli", "run", "--target", "sim-ravdess", "--dataset-param",
            "sim-ravdess.speakers=4", "--protocol", "idt", "--loss", "bce_pair", "--seed", "0", "--no-leaderboard",
            "--cache-dir", str(cache_dir), "--results", str(tmp_path / "r")]
    from tests.hostile.test_fault_processes import _default_sigint

    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_default_sigint)  # as in a terminal, also under a suite run in the background
    deadline = time.monotonic() + 60

    def server():
        return next((p for p in _pids_of_children(proc.pid) if "forkserver" in
                     open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace")), None)

    while time.monotonic() < deadline and server() is None:
        time.sleep(0.02)
    if when == "the fork server imports torch":
        time.sleep(0.3)
    else:
        while time.monotonic() < deadline and not (server() and _pids_of_children(server())):
            time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in err
    assert "Traceback" not in err and "Exception ignored" not in err and "KeyboardInterrupt" not in err


def test_ctrl_c_while_a_worker_is_being_started_is_held_until_it_is_recorded():
    """A KeyboardInterrupt inside Process.start() left a forked worker its pool never recorded, which no
    stop reached and the interpreter waited for at exit: the run hung after Ctrl-C (about one time in two
    in the test above). Starting workers holds the signal and delivers it after."""
    import signal

    from ser_bench.processes.workers import signals_deferred

    steps = []
    # Python's own handler, as in a terminal: a suite run in the background inherits SIGINT ignored
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with signals_deferred():
                signal.raise_signal(signal.SIGINT)
                steps.append("the block went on")
            steps.append("never")
        assert steps == ["the block went on"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_plugin_that_hangs_at_import_is_named_while_it_hangs(tmp_path):
    import subprocess
    import sys

    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "sleeper.py").write_text("import time\nwhile True:\n    time.sleep(0.05)\n")
    code = ("import ser_bench.plugin_api.manager as m\nm.SLOW_IMPORT = 0.5\nfrom ser_bench.cli.main import main\n"
            f"main(['--plugins-dir', {str(plugins)!r}, 'list', 'losses'])\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, err = proc.communicate(timeout=4)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    assert f"local plugin {plugins / 'sleeper.py'} is still loading after 0.5 s" in err, err


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to see Ray start")
def test_sigterm_under_the_ray_executor_stops_like_any_other(tiny_corpora, cache_dir, tmp_path):
    """Ray's driver installs its own SIGTERM handler (a signal dump, exit 1) and its wait turns ours into a
    plain KeyboardInterrupt: the run must still say "interrupted" and exit 143."""
    pytest.importorskip("ray")
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    def task_running() -> bool:
        """A Ray worker runs one of the run's tasks (Ray names the process after the function): ray.init
        has returned, so the run's own handler is back. (A SIGTERM while ray.init runs meets Ray's.)"""
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if b"ray::_on_node" in cmdline.read_bytes():
                    return True
            except OSError:
                continue
        return False

    args = [sys.executable, "-m", "ser_bench.cli", "-q", "run", "--executor", "ray", "--target", "sim-ravdess",
            "--dataset-param", "sim-ravdess.speakers=4", "--protocol", "idt", "--loss", "bce_pair", "--seed", "0,1,2",
            "--train-param", "epochs=300", "--no-leaderboard", "--cache-dir", str(cache_dir),
            "--results", str(tmp_path / "r")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not task_running():
        time.sleep(0.1)
    time.sleep(1)  # tasks submitted and running
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 143 and "interrupted: finished cells are saved" in err, err[-2000:]
