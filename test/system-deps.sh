#!/usr/bin/env bash
# What `make test` needs from the machine besides node_modules: Redis (every integration and fault spec starts its own
# redis-server), Chromium (the demo page and SDK browser specs), Prometheus (the dashboard spec), and HAProxy and
# nginx (the load-balancer specs run src/deploy/ with them; Debian's nginx package also starts its own service). Installs what is
# missing when it can (root, or passwordless sudo, with apt-get); otherwise stops at once with the command to run,
# so a fresh machine fails in one second with the fix instead of minutes later with two failing suites.
# CHROMIUM_PATH, PROMETHEUS_PATH, HAPROXY_PATH and NGINX_PATH point the specs at other binaries; they are checked
# instead of the defaults.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
[ -x "${PROMETHEUS_PATH:-/usr/bin/prometheus}" ] || missing+=(prometheus)
[ -x "${HAPROXY_PATH:-/usr/sbin/haproxy}" ] || missing+=(haproxy)
[ -x "${NGINX_PATH:-/usr/sbin/nginx}" ] || missing+=(nginx)
# make bench pins processes with taskset (util-linux).
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
[ ${#missing[@]} -eq 0 ] && exit 0

install="apt-get install -y --no-install-recommends ${missing[*]}"
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo)
  else
    echo "tickgate: make test needs ${missing[*]}; run: sudo apt-get update && sudo $install" >&2
    exit 1
  fi
  echo "tickgate: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  # shellcheck disable=SC2086
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends ${missing[*]} >/dev/null
else
  echo "tickgate: make test needs ${missing[*]} and this machine has no apt-get; install them with its package manager" >&2
  exit 1
fi
