#!/usr/bin/env python3
"""libiec61850 IedServer peer for guls interop tests.

    iec_server.py --port P [--host 127.0.0.1] [--password PW] [--duration S]
                  [--identity VENDOR,MODEL,REVISION] [--keep-on-eof]

Serves a tiny model (IED "pyiec", logical device LD0 -> MMS domain "pyiecLD0", LLN0) through the
pyiec61850-ng SWIG module. With --password an ACSE authenticator (installed with ctypes on the
bundled libiec61850 .so, the SWIG module cannot wrap a C callback) accepts only that password and
logs each decision; the password itself is never logged.

stdout: one ``READY port=N`` line once listening, then JSON event lines:
  {"event":"auth","mechanism":1,"mechanism_name":"password","accepted":false,"password_len":5}
  {"event":"connection","connected":true,"peer":"127.0.0.1:40000"}
  {"event":"stopped","reason":"duration"}
Stops after --duration seconds (default 120), on stdin EOF (unless --keep-on-eof) or SIGTERM.
--port 0 picks a free port (printed in READY).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import time

sys.dont_write_bytecode = True  # keep tests/peers free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _peerlib as peer  # noqa: E402

MECHANISMS = {0: "none", 1: "password", 2: "certificate", 3: "tls"}


class _Password(ctypes.Structure):
    _fields_ = [("octetString", ctypes.POINTER(ctypes.c_uint8)), ("passwordLength", ctypes.c_int)]


class _AuthParameter(ctypes.Structure):
    # struct sAcseAuthenticationParameter { AcseAuthenticationMechanism mechanism; union {...} value; }
    # only the password arm is read here (the certificate arm has the same {ptr, int} shape).
    _fields_ = [("mechanism", ctypes.c_int), ("password", _Password)]


_AUTH_CB = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.POINTER(_AuthParameter),
                            ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)
_CONN_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_bool, ctypes.c_void_p)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--password", help="accept only this ACSE password (mechanism 2.2.3.1)")
    ap.add_argument("--duration", type=float, default=120.0, help="stop after S seconds (0 = no limit)")
    ap.add_argument("--identity", help="VENDOR,MODEL,REVISION returned to MMS identify")
    ap.add_argument("--keep-on-eof", action="store_true", help="do not stop when stdin closes")
    args = ap.parse_args()

    stop = peer.stop_event(args.duration, exit_on_eof=not args.keep_on_eof)
    try:
        import pyiec61850.pyiec61850 as iec
    except Exception as exc:  # import of the native module failed: a setup error
        peer.emit("error", stage="import", message=str(exc))
        return 2

    lib = ctypes.CDLL(peer.iec_lib_path())
    lib.IedServer_setAuthenticator.argtypes = [ctypes.c_void_p, _AUTH_CB, ctypes.c_void_p]
    lib.IedServer_setAuthenticator.restype = None
    lib.IedServer_setConnectionIndicationHandler.argtypes = [ctypes.c_void_p, _CONN_CB, ctypes.c_void_p]
    lib.IedServer_setConnectionIndicationHandler.restype = None
    lib.ClientConnection_getPeerAddress.argtypes = [ctypes.c_void_p]
    lib.ClientConnection_getPeerAddress.restype = ctypes.c_char_p

    port = args.port or peer.free_port(args.host)
    model = iec.IedModel_create("pyiec")
    ld = iec.LogicalDevice_create("LD0", model)
    iec.LogicalNode_create("LLN0", ld)
    server = iec.IedServer_create(model)
    srv_addr = peer.swig_addr(server)

    secret = args.password.encode() if args.password is not None else None

    def on_auth(_param, auth_p, _token, _app_ref) -> bool:
        try:
            auth = auth_p.contents
            mech = int(auth.mechanism)
            given = None
            if mech == 1 and auth.password.octetString and auth.password.passwordLength >= 0:
                given = ctypes.string_at(auth.password.octetString, auth.password.passwordLength)
            ok = secret is not None and mech == 1 and given == secret
            peer.emit("auth", mechanism=mech, mechanism_name=MECHANISMS.get(mech, "unknown"),
                      accepted=ok, password_len=None if given is None else len(given))
            return ok
        except Exception as exc:  # never let a Python error cross into C
            peer.emit("error", stage="authenticator", message=str(exc))
            return False

    def on_conn(_srv, conn, connected, _param) -> None:
        try:
            peer_addr = lib.ClientConnection_getPeerAddress(conn)
            peer.emit("connection", connected=bool(connected),
                      peer=peer_addr.decode(errors="replace") if peer_addr else None)
        except Exception as exc:
            peer.emit("error", stage="connection-handler", message=str(exc))

    # Keep the ctypes callback objects alive for the server's lifetime.
    auth_cb = _AUTH_CB(on_auth)
    conn_cb = _CONN_CB(on_conn)
    lib.IedServer_setConnectionIndicationHandler(srv_addr, conn_cb, None)
    if secret is not None:
        lib.IedServer_setAuthenticator(srv_addr, auth_cb, None)
    if args.identity:
        vendor, model_name, revision = (args.identity.split(",") + ["", "", ""])[:3]
        iec.IedServer_setServerIdentity(server, vendor, model_name, revision)

    iec.IedServer_setLocalIpAddress(server, args.host)
    iec.IedServer_start(server, port)
    if not iec.IedServer_isRunning(server):
        peer.emit("error", stage="start", message=f"IedServer_start failed on {args.host}:{port}")
        iec.IedServer_destroy(server)
        return 2
    peer.emit("listening", host=args.host, port=port, password=secret is not None,
              domain="pyiecLD0", pid=os.getpid())
    peer.raw(f"READY port={port}")

    stop.wait()
    peer.hard_deadline(5.0, code=4, what="shutdown")  # IedServer_stop must not hang the test run
    iec.IedServer_stop(server)
    iec.IedServer_destroy(server)
    iec.IedModel_destroy(model)
    peer.emit("stopped", reason=stop.reason)  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
