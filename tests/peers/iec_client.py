#!/usr/bin/env python3
"""libiec61850 IedConnection client peer for guls interop tests.

    iec_client.py --host H --port P [--password PW] [--identify] [--timeout-ms MS]
                  [--close release|abort|close]

Connects with the pyiec61850-ng SWIG IedConnection (optionally with an ACSE password,
mechanism 2.2.3.1), optionally runs MMS identify, then releases (FN + RLRQ) and closes.
Prints exactly one JSON result line on stdout:

  {"connect_error": 0, "connect_error_name": "IED_ERROR_OK", "connect_ms": 12,
   "identify": {"vendor": "...", "model": "...", "revision": "...", "mms_error": 0},
   "close": "release", "close_error": 0}

``identify`` is null when not asked for or when the connection failed.
Exit status: 0 whenever the attempt ran (the outcome is data), 2 on a script/setup error,
3 if the hard deadline fired (a native call wedged).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.dont_write_bytecode = True  # keep tests/peers free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _peerlib as peer  # noqa: E402


def error_names(iec) -> dict[int, str]:
    return {getattr(iec, n): n for n in dir(iec) if n.startswith("IED_ERROR_")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--password", help="ACSE password (mechanism 2.2.3.1); none if absent")
    ap.add_argument("--identify", action="store_true", help="run MMS identify once connected")
    ap.add_argument("--timeout-ms", type=int, default=5000, help="connect and request timeout")
    ap.add_argument("--close", choices=("release", "abort", "close"), default="release",
                    help="how to end the association (default: release = FN + RLRQ)")
    args = ap.parse_args()

    # Connect + identify + release are each bounded by timeout_ms; add slack, then die.
    peer.hard_deadline(4 * args.timeout_ms / 1000.0 + 5.0, code=3, what="iec_client")

    try:
        import pyiec61850.pyiec61850 as iec
    except Exception as exc:
        print(f'{{"script_error": "import failed: {exc}"}}', flush=True)
        return 2

    names = error_names(iec)
    result: dict = {"connect_error": None, "connect_error_name": None, "identify": None}
    con = iec.IedConnection_create()
    auth = None
    try:
        iec.IedConnection_setConnectTimeout(con, args.timeout_ms)
        iec.IedConnection_setRequestTimeout(con, args.timeout_ms)
        if args.password is not None:
            params = iec.MmsConnection_getIsoConnectionParameters(iec.IedConnection_getMmsConnection(con))
            auth = iec.AcseAuthenticationParameter_create()
            iec.AcseAuthenticationParameter_setAuthMechanism(auth, iec.ACSE_AUTH_PASSWORD)
            iec.AcseAuthenticationParameter_setPassword(auth, args.password)
            iec.IsoConnectionParameters_setAcseAuthenticationParameter(params, auth)

        t0 = time.monotonic()
        ret = iec.IedConnection_connect(con, args.host, args.port)
        err = ret[1] if isinstance(ret, (tuple, list)) else ret
        result["connect_ms"] = int((time.monotonic() - t0) * 1000)
        result["connect_error"] = int(err)
        result["connect_error_name"] = names.get(int(err), "?")

        if int(err) == 0:
            if args.identify:
                mms = iec.IedConnection_getMmsConnection(con)
                mms_err = iec.MmsError_create()
                try:
                    ident = iec.MmsConnection_identify(mms, mms_err)
                    code = int(iec.MmsError_getValue(mms_err))
                    if ident is not None:
                        result["identify"] = {"vendor": ident.vendorName, "model": ident.modelName,
                                              "revision": ident.revision, "mms_error": code}
                        iec.MmsServerIdentity_destroy(ident)
                    else:
                        result["identify"] = {"vendor": None, "model": None, "revision": None,
                                              "mms_error": code}
                finally:
                    # the binding spells it MmsErrror_destroy (3 r's) in 1.6.1.x
                    destroy = getattr(iec, "MmsError_destroy", None) or getattr(iec, "MmsErrror_destroy", None)
                    if destroy is not None:
                        destroy(mms_err)
            result["close"] = args.close
            t1 = time.monotonic()
            if args.close == "release":
                rel = iec.IedConnection_release(con)
                result["close_error"] = int(rel[1] if isinstance(rel, (tuple, list)) else (rel or 0))
            elif args.close == "abort":
                ab = iec.IedConnection_abort(con)
                result["close_error"] = int(ab[1] if isinstance(ab, (tuple, list)) else (ab or 0))
            else:
                iec.IedConnection_close(con)
                result["close_error"] = 0
            result["close_ms"] = int((time.monotonic() - t1) * 1000)
        result["state_after"] = int(iec.IedConnection_getState(con))
    except Exception as exc:
        print('{"script_error": %s}' % __import__("json").dumps(f"{type(exc).__name__}: {exc}"),
              flush=True)
        return 2
    finally:
        iec.IedConnection_destroy(con)
        if auth is not None:
            iec.AcseAuthenticationParameter_destroy(auth)

    import json

    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
