"""Shared plumbing for the guls interop peer scripts (stdlib only).

Every peer script:
  * logs events as one JSON object per line on stdout (flushed at once),
  * prints ``READY port=NNNN`` once it listens (servers only),
  * stops by itself after ``--duration`` seconds, on stdin EOF or on SIGTERM/SIGINT,
  * arms a hard watchdog so that a wedged native call can never hang it.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import socket
import sys
import threading
import time

_out_lock = threading.Lock()
_t0 = time.monotonic()


def emit(event: str, **fields) -> None:
    """Print one JSON event line on stdout."""
    record = {"event": event, "t_ms": int((time.monotonic() - _t0) * 1000)}
    record.update(fields)
    line = json.dumps(record, sort_keys=False)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def raw(line: str) -> None:
    """Print one raw line (e.g. the READY line) on stdout."""
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind to port 0 and release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def hard_deadline(seconds: float, code: int = 3, what: str = "deadline") -> None:
    """Kill this process (os._exit) after ``seconds`` whatever the native code is doing."""

    def _fire() -> None:
        time.sleep(seconds)
        emit("watchdog", what=what, after_s=seconds)
        os._exit(code)

    threading.Thread(target=_fire, name="watchdog", daemon=True).start()


def stop_event(duration: float | None, exit_on_eof: bool = True) -> threading.Event:
    """An event set on SIGTERM/SIGINT, after ``duration`` seconds, or on stdin EOF.

    The reason is stored as ``event.reason``.
    """
    stop = threading.Event()
    stop.reason = None  # type: ignore[attr-defined]

    def _set(reason: str) -> None:
        if not stop.is_set():
            stop.reason = reason  # type: ignore[attr-defined]
            stop.set()

    signal.signal(signal.SIGTERM, lambda *_: _set("sigterm"))
    signal.signal(signal.SIGINT, lambda *_: _set("sigint"))
    if duration is not None and duration > 0:
        timer = threading.Timer(duration, _set, args=("duration",))
        timer.daemon = True
        timer.start()
    if exit_on_eof and sys.stdin is not None:

        def _watch_stdin() -> None:
            try:
                while os.read(sys.stdin.fileno(), 4096):
                    pass
            except (OSError, ValueError):
                pass
            _set("stdin-eof")

        threading.Thread(target=_watch_stdin, name="stdin", daemon=True).start()
    return stop


def iec_lib_path() -> str:
    """Path of the libiec61850 shared object bundled in the pyiec61850-ng wheel."""
    import pyiec61850  # noqa: F401  (loads the native library)

    base = os.path.dirname(os.path.dirname(os.path.abspath(pyiec61850.__file__)))
    for pattern in ("pyiec61850_ng.libs/libiec61850-*.so*", "pyiec61850.libs/libiec61850*.so*",
                    "pyiec61850/libiec61850.so*"):
        found = sorted(glob.glob(os.path.join(base, pattern)))
        if found:
            return found[0]
    raise RuntimeError("bundled libiec61850 shared object not found next to pyiec61850")


def swig_addr(obj) -> int:
    """The C address behind a SWIG pointer object (for passing it to ctypes)."""
    return int(obj)
