#!/usr/bin/env python3
"""Replay TPKT hex lines against a server and record every TPKT that comes back.

    replay.py --port P [--host 127.0.0.1] --hex-lines FILE [--timeout S] [--quiet S] [--strict]

FILE: one TPKT (or any byte chunk) per line, as hex. A line starting with '<' or with no marker is
sent; a line starting with '>' is the expected server answer to the preceding sent line (compared,
never sent). Text after the hex (after whitespace) and lines starting with '#' are comments.

After each send, waits up to --timeout seconds for a first TPKT, then --quiet seconds for more.
stdout, JSON lines:
  {"event":"sent","step":0,"hex":"0300..."}
  {"event":"recv","step":0,"hex":"0300...","after_ms":1}
  {"event":"compare","step":0,"match":true,"expected":["..."],"got":["..."]}
  {"event":"closed","step":2,"after_ms":0}          peer closed TCP (FIN or RST)
  {"event":"summary","steps":5,"sent":5,"received":5,"closed_by_peer":false,"mismatches":0}
Exit: 0 when it ran (1 with --strict and a mismatch), 2 on a connection/script error.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep tests/peers free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _peerlib as peer  # noqa: E402

_HEX = re.compile(r"^[0-9a-fA-F]+$")


def load(path: str) -> list[tuple[bytes, list[bytes]]]:
    """[(bytes to send, [expected answers])] in file order."""
    steps: list[tuple[bytes, list[bytes]]] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            marker = ""
            if line[0] in "<>":
                marker, line = line[0], line[1:].strip()
            word = line.split()[0] if line.split() else ""
            if not _HEX.match(word) or len(word) % 2:
                raise ValueError(f"{path}:{n}: not a hex line: {word[:40]!r}")
            data = bytes.fromhex(word)
            if marker == ">":
                if not steps:
                    raise ValueError(f"{path}:{n}: expected answer before any sent line")
                steps[-1][1].append(data)
            else:
                steps.append((data, []))
    return steps


class Reader:
    """TPKT reader over a socket with per-call deadlines."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.closed = False

    def _fill(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or self.closed:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionError:
            self.closed = True
            return False
        if not chunk:
            self.closed = True
            return False
        self.buf += chunk
        return True

    def tpkt(self, deadline: float) -> bytes | None:
        """The next whole TPKT (or, if the bytes are not TPKT, whatever arrived) before deadline."""
        while True:
            if len(self.buf) >= 4:
                if self.buf[0] == 3:
                    length = int.from_bytes(self.buf[2:4], "big")
                    if length >= 4 and len(self.buf) >= length:
                        out, self.buf = self.buf[:length], self.buf[length:]
                        return out
                else:  # not TPKT: hand back the raw bytes
                    out, self.buf = self.buf, b""
                    return out
            if not self._fill(deadline):
                if self.closed and self.buf:  # truncated tail before close
                    out, self.buf = self.buf, b""
                    return out
                return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--hex-lines", required=True, help="file of hex lines (see above)")
    ap.add_argument("--timeout", type=float, default=2.0, help="wait for the first answer TPKT (s)")
    ap.add_argument("--quiet", type=float, default=0.3, help="wait for further answer TPKTs (s)")
    ap.add_argument("--strict", action="store_true", help="exit 1 if an answer differs")
    args = ap.parse_args()
    peer.hard_deadline(60.0 + 2 * args.timeout, code=3, what="replay")

    try:
        steps = load(args.hex_lines)
    except (OSError, ValueError) as exc:
        peer.emit("error", stage="load", message=str(exc))
        return 2
    try:
        sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    except OSError as exc:
        peer.emit("error", stage="connect", message=str(exc))
        return 2
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = Reader(sock)
    sent = received = mismatches = 0
    closed_at = None
    for step, (data, expected) in enumerate(steps):
        if reader.closed:
            peer.emit("skipped", step=step, hex=data.hex(), why="peer closed")
            continue
        try:
            sock.sendall(data)
        except OSError as exc:
            reader.closed = True
            closed_at = step
            peer.emit("closed", step=step, on="send", message=str(exc))
            continue
        sent += 1
        peer.emit("sent", step=step, hex=data.hex())
        t0 = time.monotonic()
        got: list[bytes] = []
        deadline = t0 + args.timeout
        while True:
            pdu = reader.tpkt(deadline)
            if pdu is None:
                break
            got.append(pdu)
            received += 1
            peer.emit("recv", step=step, hex=pdu.hex(), after_ms=int((time.monotonic() - t0) * 1000))
            deadline = time.monotonic() + args.quiet
        if reader.closed and closed_at is None:
            closed_at = step
            peer.emit("closed", step=step, after_ms=int((time.monotonic() - t0) * 1000))
        elif not got:
            peer.emit("no-answer", step=step, waited_ms=int(args.timeout * 1000))
        if expected:
            match = got == expected
            mismatches += 0 if match else 1
            peer.emit("compare", step=step, match=match, expected=[e.hex() for e in expected],
                      got=[g.hex() for g in got])
    if not reader.closed:  # see whether the peer closes on its own shortly after
        reader.tpkt(time.monotonic() + args.quiet)
    peer.emit("summary", steps=len(steps), sent=sent, received=received,
              closed_by_peer=closed_at is not None, closed_at_step=closed_at,
              still_open_at_end=not reader.closed, mismatches=mismatches)
    sock.close()
    return 1 if (args.strict and mismatches) else 0


if __name__ == "__main__":
    sys.exit(main())
