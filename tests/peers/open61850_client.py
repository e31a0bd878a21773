#!/usr/bin/env python3
"""Run open61850's CLI association check against a server, bounded in time, and print a JSON verdict.

    open61850_client.py --host H --port P [--timeout S]

Runs ``python -m open61850.mms H:P association`` (same interpreter) with a timeout and prints one
JSON line:
  {"associated": true, "rc": 0, "max_pdu_size": 65000, "mms_version": 1,
   "services": ["status", ...], "error": null, "elapsed_ms": 60}
  {"associated": false, "rc": 1, "error": "connection closed during association", ...}
  {"associated": false, "rc": null, "error": "timeout after 10s", ...}
open61850 sends no ACSE authentication, so a libiec61850 server with a password rejects it
(TCP close -> "connection closed during association").
Exit: 0 when the attempt ran (the verdict is data), 2 on a script error.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time


def parse(stdout: str) -> dict:
    out: dict = {}
    m = re.search(r"^max PDU size\s+(\d+)", stdout, re.M)
    if m:
        out["max_pdu_size"] = int(m.group(1))
    m = re.search(r"^MMS version\s+(\d+)", stdout, re.M)
    if m:
        out["mms_version"] = int(m.group(1))
    m = re.search(r"^data nesting level\s+(\d+)", stdout, re.M)
    if m:
        out["nesting_level"] = int(m.group(1))
    m = re.search(r"^requests in flight\s+(\d+) \(server side (\d+)\)", stdout, re.M)
    if m:
        out["max_outstanding_calling"], out["max_outstanding_called"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"^services\s+(.*)$", stdout, re.M)
    if m:
        out["services"] = [s.strip() for s in m.group(1).split(",") if s.strip()]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds before the CLI is killed")
    args = ap.parse_args()

    cmd = [sys.executable, "-m", "open61850.mms", f"{args.host}:{args.port}", "association"]
    t0 = time.monotonic()
    result: dict = {"associated": False, "rc": None, "error": None}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        result["error"] = f"timeout after {args.timeout:g}s"
        result["stdout"] = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) \
            else (exc.stdout or "")
    except OSError as exc:
        print(json.dumps({"script_error": str(exc)}), flush=True)
        return 2
    else:
        result["rc"] = proc.returncode
        result.update(parse(proc.stdout))
        err = proc.stderr.strip()
        if err.startswith("error: "):
            err = err[len("error: "):]
        result["error"] = err or None
        result["associated"] = proc.returncode == 0 and "max_pdu_size" in result
    result["elapsed_ms"] = int((time.monotonic() - t0) * 1000)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
