"""Quiet commands: TensorFlow's and Jupyter's known start-up lines are held back from a
command's stderr, and nothing else is: real TensorFlow errors, tracebacks, progress bars
and a crashing child's last words all reach the terminal."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import run_cli

from filmgenre.cli.quiet import LineFilter, known_source, run_filtered

STARTUP = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796158854.226399   13987 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors "
    "from different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1796158854.261123   13987 cpu_feature_guard.cc:227] This TensorFlow binary "
    "is optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in "
    "other operations, rebuild TensorFlow with the appropriate compiler flags.",
    "E0000 00:00:1796161042.029185   31540 util.cc:131] oneDNN supports DT_BOOL only on "
    "platforms with AVX-512. Falling back to the default Eigen-based implementation if present.",
    "Task was destroyed but it is pending!",
    "task: <Task pending name='Task-51' coro=<Kernel.dispatch_control() running at /x/ipykernel/"
    "kernelbase.py:372> wait_for=<Future pending cb=[Task.task_wakeup()]>>",
    "[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication "
    "(including code and outputs) is sent in plain text and is susceptible to eavesdropping.",
]
REAL = [
    "W0000 00:00:1796158801.677637   13812 op_kernel.cc:1858] OP_REQUIRES failed at "
    "whole_file_read_ops.cc:117 : NOT_FOUND: /nonexistent/file.bin; No such file or directory",
    "I0000 00:00:1796158854.261123   13987 some_other.cc:12] an informational line we do not know",
    "E0000 00:00:1796161042.029185   31540 util.cc:131] oneDNN supports something else",
    "WARNING: this model learned the synthetic collection's motifs",
    "[IPKernelApp] ERROR | Exception in message handler:",
    "Traceback (most recent call last):",
    "task: <Task pending name='Task-3' coro=<my_own_coroutine() running at x.py:1>>",
    "Task was destroyed but it is pending! (and this line says more)",
]


def test_only_the_known_lines_are_held_back():
    assert all(known_source(line) for line in STARTUP)
    assert not any(known_source(line) for line in REAL)
    f = LineFilter()
    text = "".join(f"{line}\n" for pair in zip(STARTUP, REAL, strict=True) for line in pair)
    shown = f.feed(text) + f.flush(final=True)
    assert shown == "".join(f"{line}\n" for line in REAL)
    assert len(f.held) == len(STARTUP) and "held back 8" in f.summary()


def test_progress_bars_pass_at_once_and_split_lines_are_put_together():
    f = LineFilter()
    assert f.feed("features:  10%|#") + f.flush() == "features:  10%|#"  # no newline yet
    assert f.feed("\rfeatures:  20%|##\r") == "\rfeatures:  20%|##\r"
    half = STARTUP[2][:30]
    assert f.feed(half) + f.flush() == ""  # could still become a known line: waits
    assert f.feed(STARTUP[2][30:] + "\n") + f.flush() == ""
    assert f.feed("W0000 00:00:1.2 1 x.cc:1] real\n") == "W0000 00:00:1.2 1 x.cc:1] real\n"


@pytest.mark.slow
def test_a_real_tensorflow_error_and_a_crash_still_reach_stderr(capfd):
    program = ("import tensorflow as tf\n"
               "try:\n    tf.io.read_file('/nonexistent/file.bin')\n"
               "except tf.errors.NotFoundError as exc:\n    print('caught', type(exc).__name__,"
               " flush=True)\n"
               "raise SystemExit(3)\n")  # fmt: skip
    # the test session sets TF_CPP_MIN_LOG_LEVEL=2, which would silence TensorFlow's warnings
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = run_filtered([sys.executable, "-c", program], verbose=True, env=env)
    out, err = capfd.readouterr()
    assert code == 3 and "caught NotFoundError" in out
    assert "OP_REQUIRES failed" in err and "NOT_FOUND: /nonexistent/file.bin" in err
    shown = err.split("filmgenre: held back")[0]
    assert "oneDNN custom operations" not in shown and "absl::InitializeLog" not in shown
    assert "oneDNN custom operations" in err.split("filmgenre: held back")[1]  # --verbose
    crash = "import os, sys\nsys.stderr.write('last words\\n'); sys.stderr.flush()\nos.abort()\n"
    code = run_filtered([sys.executable, "-c", crash])
    assert code < 0 and "last words" in capfd.readouterr().err


@pytest.mark.slow
def test_tag_on_a_real_file_prints_no_startup_line(realaudio):
    cue = sorted((realaudio / "filmscore").rglob("*.mp3"))[0]
    done = run_cli("tag", str(cue))
    assert done.returncode == 0, done.stderr
    for line in STARTUP:
        assert line[:40] not in done.stderr, done.stderr
    assert "I0000" not in done.stderr and "rebuild TensorFlow" not in done.stderr
    assert "Drama" in done.stdout
    verbose = run_cli("tag", str(cue), "--verbose")
    # the shipped head runs with NumPy and musicnn through OpenVINO: TensorFlow never starts,
    # so nothing is held back (the --verbose listing of held-back lines is tested above with
    # a real TensorFlow start)
    assert verbose.returncode == 0 and "Drama" in verbose.stdout
    assert "no known start-up line was held back" in verbose.stderr, verbose.stderr


def test_a_genre_mix_search_does_not_start_a_second_process():
    from filmgenre.cli import _loads_tensorflow, build_parser

    parse = build_parser().parse_args
    assert not _loads_tensorflow(parse(["search", "Drama", "--index", "x.sqlite"]))
    assert _loads_tensorflow(parse(["search", "--like", "a.wav", "--index", "x.sqlite"]))
    assert _loads_tensorflow(parse(["tag", "a.wav"]))
    assert not _loads_tensorflow(parse(["index", "info", "--index", "x.sqlite"]))
    assert subprocess.run([sys.executable, "-m", "filmgenre", "--help"],
                          capture_output=True).returncode == 0  # fmt: skip


def test_a_stopped_command_stops_its_child_too(tmp_path):
    """`serve` runs in a child of the filter: a SIGTERM to the command (a supervisor, a
    benchmark stopping its server) must stop the child as well, never leave it running."""
    import signal
    import time

    marker = tmp_path / "child.pid"
    program = (f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\n"
               "time.sleep(60)\n")  # fmt: skip
    parent = subprocess.Popen([sys.executable, "-c", "import sys\nfrom filmgenre.cli.quiet "
                               "import run_filtered\nsys.exit(run_filtered([sys.executable, "
                               f"'-c', {program!r}]))"])  # fmt: skip
    for _ in range(100):  # bounded: 10 s
        if marker.exists() and marker.read_text():
            break
        time.sleep(0.1)
    child = int(marker.read_text())
    parent.send_signal(signal.SIGTERM)
    parent.wait(timeout=20)
    for _ in range(100):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the child outlived its stopped parent")
