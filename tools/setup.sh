#!/usr/bin/env bash
# One-step set-up on a fresh Debian/Ubuntu machine: installs ngspice when it is
# missing, creates .venv and installs this package with its test extras.
# Safe to run again: it only does what is not done yet.
#
#   bash tools/setup.sh            what the main job needs
#   bash tools/setup.sh --tests    also Chromium (Debian package chromium), which the
#                                  report's browser test renders report.html in; when it
#                                  cannot be installed, that test is skipped with the reason
set -euo pipefail
cd "$(dirname "$0")/.."

tests=0
for arg in "$@"; do
  case "$arg" in
    --tests) tests=1 ;;
    *) echo "setup: unknown option $arg (known: --tests)" >&2; exit 2 ;;
  esac
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    return 1
  fi
}

need_apt=()
command -v ngspice >/dev/null 2>&1 || need_apt+=(ngspice)
ldconfig -p 2>/dev/null | grep -q libngspice.so || need_apt+=(libngspice0)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
    echo "setup: please install these Debian packages as root: ${need_apt[*]}" >&2; exit 1
  fi
  echo "setup: installing ${need_apt[*]} with apt-get" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "$tests" = 1 ] && ! command -v chromium >/dev/null 2>&1 \
   && ! command -v chromium-browser >/dev/null 2>&1; then
  # optional: a failure here leaves the browser test to skip with its reason
  echo "setup: installing chromium with apt-get (for the report's browser test)" >&2
  if ! { as_root apt-get update -qq &&
         as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
           chromium >/dev/null; } 2>/dev/null; then
    echo "setup: could not install chromium; the browser test will be skipped" >&2
  fi
fi

stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  echo "setup: installing rram-cosim and its dependencies into .venv" >&2
  log=.venv/pip-install.log
  if ! { .venv/bin/python -m pip install -q --upgrade pip &&
         .venv/bin/python -m pip install -q -e '.[test]'; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "setup: pip install failed; full log in $log" >&2
    exit 1
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi
