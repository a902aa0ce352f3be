#!/usr/bin/env bash
# The whole test run, exactly as CI does it (`make test` and `.ci/run` both call this):
#   1. install Dovecot (and friends) with apt-get when missing;
#   2. create .venv with introd and its test dependencies;
#   3. ruff, mypy --strict, and the whole pytest suite on the main Python;
#   4. the unit tests on every other Python 3.10-3.13 found (pyenv or PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

need_apt=()
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need_apt+=(dovecot-core dovecot-imapd)
command -v neomutt >/dev/null 2>&1 || need_apt+=(neomutt)
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)  # renders the HTML digest in a test
if [ ${#need_apt[@]} -gt 0 ]; then
    log "installing ${need_apt[*]} (apt-get)"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    # Packages must not start a system Dovecot on ports 143/993: the tests run their own.
    policy_added=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod +x /usr/sbin/policy-rc.d
        policy_added=1
    fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    if [ -n "$policy_added" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
fi

# The main Python: 3.11 (Debian 12's) when available, else python3.
find_python() {  # $1 = "3.11" -> a path, or nothing
    local v=$1 p
    for p in "$HOME"/.pyenv/versions/"$v".*/bin/python"$v" /root/.pyenv/versions/"$v".*/bin/python"$v"; do
        [ -x "$p" ] && { echo "$p"; return; }
    done
    command -v "python$v" 2>/dev/null || true
}
MAIN_PY=$(find_python 3.11)
MAIN_PY=${MAIN_PY:-$(command -v python3)}

make_venv() {  # $1 = python, $2 = venv dir
    if [ ! -x "$2/bin/python" ]; then
        "$1" -m venv "$2"
    fi
    "$2/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    "$2/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
}

log "main Python: $("$MAIN_PY" --version) ($MAIN_PY)"
make_venv "$MAIN_PY" .venv

log "ruff"
.venv/bin/ruff check daemon tests bench
log "mypy --strict"
.venv/bin/mypy

log "pytest: the whole suite ($(.venv/bin/python --version))"
.venv/bin/python -m pytest tests -q -p no:cacheprovider

main_version=$("$MAIN_PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
for v in 3.10 3.11 3.12 3.13; do
    [ "$v" = "$main_version" ] && continue
    py=$(find_python "$v")
    if [ -z "$py" ]; then
        log "Python $v not found: skipping its unit tests"
        continue
    fi
    log "pytest: unit tests on Python $v ($py)"
    make_venv "$py" ".venv-py$v"
    ".venv-py$v/bin/python" -m pytest tests/unit -q -p no:cacheprovider
done
log "all tests passed"
