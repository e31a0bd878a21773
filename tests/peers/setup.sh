#!/usr/bin/env bash
# Install the live interop peers (libiec61850 via pyiec61850-ng, open61850) into a venv.
#
# Idempotent: re-running with the pinned versions already present only re-checks them.
# Venv location: ${GULS_PEERS_VENV:-<repo>/.venv-peers}.  Exits non-zero on any failure.
set -euo pipefail

PYIEC_VERSION="1.6.1.10"
OPEN61850_VERSION="0.9.12"
ASN1TOOLS_VERSION="0.169.0"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${GULS_PEERS_VENV:-$repo/.venv-peers}"
python="${PYTHON:-python3}"

log() { echo "[peers-setup] $*"; }

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "venv exists: $venv"
else
    if ! command -v "$python" >/dev/null 2>&1; then
        log "error: $python not found (set PYTHON=/path/to/python3)"; exit 1
    fi
    log "creating venv: $venv (with $("$python" --version 2>&1))"
    rm -rf "$venv"
    if ! "$python" -m venv "$venv"; then
        # Debian's system python3 needs python3-venv for ensurepip.
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            log "venv failed; installing python3-venv with apt-get"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
            rm -rf "$venv"
            "$python" -m venv "$venv"
        else
            log "error: '$python -m venv' failed (on Debian: apt-get install python3-venv)"; exit 1
        fi
    fi
fi

vpy="$venv/bin/python"

installed_ok() {
    "$vpy" - "$PYIEC_VERSION" "$OPEN61850_VERSION" "$ASN1TOOLS_VERSION" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
have = (version("pyiec61850-ng"), version("open61850"), version("asn1tools"))
sys.exit(0 if have == tuple(sys.argv[1:4]) else 1)
PY
}

if installed_ok; then
    log "already installed: pyiec61850-ng==$PYIEC_VERSION open61850==$OPEN61850_VERSION"
else
    log "pip install pyiec61850-ng==$PYIEC_VERSION open61850==$OPEN61850_VERSION asn1tools==$ASN1TOOLS_VERSION"
    "$vpy" -m pip install --disable-pip-version-check --quiet \
        "pyiec61850-ng==$PYIEC_VERSION" "open61850==$OPEN61850_VERSION" "asn1tools==$ASN1TOOLS_VERSION"
fi

# Smoke check: the SWIG module imports, the bundled .so is found, open61850 imports.
"$vpy" - <<'PY'
import glob, os, sys
import pyiec61850.pyiec61850 as iec
import open61850
so = glob.glob(os.path.join(os.path.dirname(os.path.dirname(iec.__file__)),
                            "pyiec61850_ng.libs", "libiec61850-*.so*"))
if not so:
    sys.exit("[peers-setup] error: bundled libiec61850 .so not found")
print("[peers-setup] ok: python", sys.version.split()[0], "| libiec61850 .so", os.path.basename(so[0]),
      "| open61850", getattr(open61850, "__version__", "?"))
PY
log "venv python: $vpy"
