#!/usr/bin/env bash
# The system packages `make cluster-demo` needs: PostgreSQL's server binaries and redis-server from
# Debian (the cluster runs them from a temporary folder; their system services are not used).
# Installs only what is missing; fails with one line when it cannot.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/pg_ctl > /dev/null 2>&1 || need+=(postgresql)
command -v redis-server > /dev/null || [ -x /usr/bin/redis-server ] || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get > /dev/null; then
  echo "cluster-demo needs ${need[*]} (no apt-get here: install them with your package manager)" >&2
  exit 2
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing ${need[*]} with apt-get"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" > /dev/null
# Debian starts the packaged services; the cluster runs its own on free ports instead.
for svc in redis-server postgresql; do
  $SUDO systemctl disable --now "$svc" > /dev/null 2>&1 || $SUDO service "$svc" stop > /dev/null 2>&1 || true
done
