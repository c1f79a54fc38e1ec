#!/usr/bin/env bash
# One-step set-up on Debian 12 for every make target: Debian packages (as root), the
# project's venv in .venv (editable install with dev tools) and the Node packages used to
# run the link codec under the real MicroPython interpreter. Quick and silent when nothing
# changed, so every target can call it.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- Debian packages -------------------------------------------------------------------
need=()
while read -r pkg; do
    [ -z "$pkg" ] && continue
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "installed" ] || need+=("$pkg")
done < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' tools/apt-packages.txt)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    need+=(nodejs npm)
fi
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ]; then
        echo "kofu bootstrap: installing Debian packages: ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
        echo "kofu bootstrap: these Debian packages are missing: ${need[*]}" >&2
        echo "Run 'make' as root once, or: sudo apt-get install ${need[*]}" >&2
        exit 1
    fi
fi

# --- Python venv ------------------------------------------------------------------------
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "kofu bootstrap: Python >= 3.11 is required ($PY is $("$PY" -V 2>&1))" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "kofu bootstrap: creating .venv"
    "$PY" -m venv .venv
fi
stamp=.venv/.kofu-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "kofu bootstrap: installing the project into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch "$stamp"
fi

# --- Node packages (MicroPython under Node for firmware-check) ---------------------------
nstamp=tools/node/node_modules/.kofu-installed
if [ ! -f "$nstamp" ] || [ tools/node/package-lock.json -nt "$nstamp" ]; then
    echo "kofu bootstrap: installing Node packages"
    (cd tools/node && npm ci --no-audit --no-fund --loglevel=error)
    touch "$nstamp"
fi
