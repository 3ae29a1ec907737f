#!/usr/bin/env bash
# Fault drill on this machine's own PostgreSQL: with the portal running, stop the database, check
# that pages and /healthz answer 503 within the pool's acquire timeout (no hang, no crash), start
# the database again and check that the portal recovers by itself. Stops the local cluster: run it
# where nothing else needs PostgreSQL for a minute.
#
# Usage: scripts/faults.sh [URL]      (default http://127.0.0.1:8080; loopback only)
set -euo pipefail
url=${1:-http://127.0.0.1:8080}
case "$url" in http://127.0.0.1:*|http://localhost:*) ;; *) echo "loopback only" >&2; exit 2 ;; esac
version=$(ls /etc/postgresql | sort -V | tail -n 1)
status() { curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 20 "$url$1"; }

echo "before:            /healthz $(status /healthz)"
pg_ctlcluster --skip-systemctl-redirect "$version" main stop -m fast
trap 'pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true' EXIT
sleep 1
h=$(status /healthz); l=$(status /login)
echo "database down:     /healthz $h   /login $l"
pg_ctlcluster --skip-systemctl-redirect "$version" main start
for i in $(seq 1 30); do
  code=$(status /healthz | cut -d' ' -f1)
  [ "$code" = 200 ] && break
  sleep 1
done
echo "database back:     /healthz $(status /healthz) (after ${i} s)"
[[ $h == 503* && $code == 200 ]] && echo PASS || { echo FAIL; exit 1; }
