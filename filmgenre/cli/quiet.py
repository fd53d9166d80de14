"""The informational lines libraries print straight to the terminal at start-up, which
users read as errors, and a filter that holds exactly those back from a command's stderr.

TensorFlow's C++ runtime writes four lines to file descriptor 2 when it loads (the absl
banner, oneDNN's note, the CPU-instructions notice and its second line); ipykernel warns
once per notebook that its kernel talks over TCP, and oneDNN logs at error level that it
leaves boolean tensors to Eigen. ``TF_CPP_MIN_LOG_LEVEL`` no longer
silences them in TensorFlow 2.21, and silencing descriptor 2 would hide real errors, so
:func:`run_filtered` runs a command in a child process and passes on every line of its
stderr except these (matched in full, one pattern each). A real warning or error
(``W0000 ... op_kernel.cc] OP_REQUIRES failed ...``, a traceback) always gets through,
and so does a crash's last words: the filter is the parent, which outlives the child.
"""

from __future__ import annotations

import codecs
import os
import re
import select
import signal
import subprocess
import sys
from collections.abc import Sequence

_GLOG = r"I\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ "  # glog's prefix: I0000 00:00:1796158854.226399 123
#: (source, pattern) of every line held back; nothing else is
KNOWN_LINES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (source, re.compile(pattern)) for source, pattern in (
        ("TensorFlow (absl)", r"WARNING: All log messages before absl::InitializeLog\(\) is "
                              r"called are written to STDERR"),
        ("TensorFlow (oneDNN)", _GLOG + r"port\.cc:\d+\] oneDNN custom operations are on\. "
                                        r"You may see slightly different numerical results .*"),
        ("TensorFlow (CPU build)", _GLOG + r"cpu_feature_guard\.cc:\d+\] This TensorFlow "
                                           r"binary is optimized to use available CPU "
                                           r"instructions in performance-critical operations\."),
        ("TensorFlow (CPU build)", r"To enable the following instructions: [A-Z0-9_ ]+, in "
                                   r"other operations, rebuild TensorFlow with the appropriate "
                                   r"compiler flags\."),
        # logged at error level, but only says oneDNN leaves boolean tensors to Eigen
        ("TensorFlow (oneDNN)", r"E\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ util\.cc:\d+\] oneDNN supports "
                                r"DT_BOOL only on platforms with AVX-512\. Falling back to the "
                                r"default Eigen-based implementation if present\."),
        ("Jupyter kernel", r"\[IPKernelApp\] WARNING \| Kernel is running over TCP without "
                           r"encryption\. .*"),
        # asyncio's note when a finished kernel is shut down with its control task waiting
        ("Jupyter kernel", r"Task was destroyed but it is pending!"),
        ("Jupyter kernel", r"task: <Task pending name='Task-\d+' coro=<Kernel\.dispatch_control"
                           r"\(\) running at .*"),
    ))  # fmt: skip
#: how a held-back line can begin: a partial line that could still become one waits
_BEGINNINGS = ("WARNING: All log messages", "To enable the following instructions",
               "[IPKernelApp] WARNING", "Task was destroyed", "task: <Task pending")  # fmt: skip
_GLOG_BEGINNING = re.compile(r"[IE]\d{0,4}(?: [\d:. ]*)?$|[IE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ ")


def known_source(line: str) -> str | None:
    """Which library's known start-up line ``line`` is (None: not one, pass it on)."""
    text = line.rstrip("\r\n")
    for source, pattern in KNOWN_LINES:
        if pattern.fullmatch(text):
            return source
    return None


def _may_become_known(partial: str) -> bool:
    return any(b.startswith(partial) or partial.startswith(b) for b in _BEGINNINGS) or bool(
        _GLOG_BEGINNING.match(partial))


class LineFilter:
    """Feed bytes, get back the bytes to show: whole lines (``\\n`` or ``\\r``, so progress
    bars keep moving) minus the known ones; a partial line is held only while it could
    still turn into a known one."""

    def __init__(self) -> None:
        self.pending = ""
        self.held: list[tuple[str, str]] = []

    def feed(self, data: str) -> str:
        self.pending += data
        out = []
        for piece in re.split(r"(?<=[\r\n])", self.pending):
            if piece.endswith(("\n", "\r")):
                source = known_source(piece)
                if source is None:
                    out.append(piece)
                else:
                    self.held.append((source, piece.rstrip("\r\n")))
                self.pending = self.pending[len(piece):]
        return "".join(out)

    def flush(self, final: bool = False) -> str:
        """The partial line, when it cannot be (or, at the end, did not become) a known one."""
        if self.pending and (final or not _may_become_known(self.pending)):
            text, self.pending = self.pending, ""
            if final and known_source(text) is not None:
                self.held.append((known_source(text) or "", text))
                return ""
            return text
        return ""

    def summary(self) -> str:
        """What was held back, in words (``--verbose``)."""
        if not self.held:
            return "filmgenre: no known start-up line was held back\n"
        sources = sorted({s for s, _ in self.held})
        lines = [f"filmgenre: held back {len(self.held)} known informational start-up "
                 f"line(s) ({', '.join(sources)}):"]  # fmt: skip
        lines += [f"  {text}" for _, text in self.held]
        return "\n".join(lines) + "\n"


def run_filtered(argv: Sequence[str], verbose: bool = False,
                 env: dict[str, str] | None = None) -> int:  # fmt: skip
    """Run ``argv`` with its stderr passed through :class:`LineFilter` to this process's
    stderr (stdin and stdout untouched); returns its exit status. Ctrl-C reaches the child
    (it shares the terminal's process group) and the filter keeps reading until it ends."""
    child = subprocess.Popen(list(argv), stderr=subprocess.PIPE, env=env)
    assert child.stderr is not None
    fd = child.stderr.fileno()
    line_filter = LineFilter()
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    out = sys.stderr
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a stop asked of this process (SIGTERM: a supervisor, a test's server.terminate())
    # reaches the command itself, which would otherwise run on without its filter
    forwarded = {sig: signal.signal(sig, lambda number, _: child.send_signal(number))
                 for sig in (signal.SIGTERM, signal.SIGHUP)}  # fmt: skip
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                out.write(line_filter.flush())
                out.flush()
                continue
            data = os.read(fd, 65536)
            if not data:
                break
            out.write(line_filter.feed(decoder.decode(data)))
            out.write(line_filter.flush())
            out.flush()
        out.write(line_filter.flush(final=True))
        if verbose:
            out.write(line_filter.summary())
        out.flush()
        return child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        for sig, handler in forwarded.items():
            signal.signal(sig, handler)
        if child.poll() is None:  # this process is going: so is the command
            child.terminate()
