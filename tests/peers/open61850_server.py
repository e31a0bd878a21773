#!/usr/bin/env python3
"""open61850 (pure Python) MMS server peer for guls interop tests.

    open61850_server.py --port P [--host 127.0.0.1] [--scl FILE] [--duration S] [--keep-on-eof]

Serves the IED of an SCL file (default: minimal.cid beside this script: IED "GULS", domain
"GULSLD0", LLN0 with Health) through open61850's MmsServer. open61850 ignores ACSE
authentication (any or no password is accepted).

stdout: ``READY port=N`` once listening (MmsServer.start() returns after bind+listen, and the port
is read back from the bound socket), then JSON event lines
({"event":"listening",...}, {"event":"stopped","reason":...}).
Stops after --duration seconds (default 120), on stdin EOF (unless --keep-on-eof) or SIGTERM.
--port 0 lets the OS pick a port (printed in READY).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.dont_write_bytecode = True  # keep tests/peers free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _peerlib as peer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--scl", default=os.path.join(HERE, "minimal.cid"))
    ap.add_argument("--ied", help="IED name when the SCL file has several")
    ap.add_argument("--duration", type=float, default=120.0, help="stop after S seconds (0 = no limit)")
    ap.add_argument("--keep-on-eof", action="store_true", help="do not stop when stdin closes")
    args = ap.parse_args()

    stop = peer.stop_event(args.duration, exit_on_eof=not args.keep_on_eof)
    try:
        from open61850.server.model import IedModel
        from open61850.server.server import MmsServer
    except Exception as exc:
        peer.emit("error", stage="import", message=str(exc))
        return 2
    try:
        model = IedModel.from_scl(args.scl, args.ied)
        server = MmsServer(model, args.host, args.port)
        server.start()
    except Exception as exc:
        peer.emit("error", stage="start", message=f"{type(exc).__name__}: {exc}")
        return 2
    peer.emit("listening", host=args.host, port=server.port, ied=model.ied_name,
              domains=list(model.logical_devices), pid=os.getpid())
    peer.raw(f"READY port={server.port}")
    stop.wait()
    peer.hard_deadline(5.0, code=4, what="shutdown")
    server.stop()
    peer.emit("stopped", reason=stop.reason)  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
