#!/usr/bin/env bash
# Security scans of a running portal on loopback (issue 11): wapiti over the pages each role sees
# when logged in, and schemathesis over the agent API's own description. Bounded in time; reports
# land in target/scan/. Results and the disposition of every finding: docs/security.md.
#
# Usage: scripts/scan.sh URL [ROLE...]
#   URL   the portal, on loopback only, e.g. http://127.0.0.1:8085 (no default: see below)
#   ROLE  any of: api owner operator admin customer anonymous   (default: all, in this order: the
#         wapiti scans regenerate pass keys, so the API scan registers its agent first)
#
# Needs: a portal with the demo data (password demo-password, pass key demo-contoso), curl,
# python3, wapiti 3.0.x (`apt-get install wapiti python3-brotli`) and schemathesis (`pip install
# schemathesis`). Wapiti asks for brotli-compressed pages whether or not it can read them; without
# python3-brotli every page it gets is unreadable to it and the crawl stops at the first one.
# Wapiti submits the forms it finds, with the page's CSRF token: the scanned database's data changes
# (customers deleted, limits edited …). Scan a database of its own, never one in use.
# Bounds (seconds) can be changed with WAPITI_SCAN_TIME (crawl, default 300), WAPITI_ATTACK_TIME
# (each attack module, default 60) and SCHEMATHESIS_EXAMPLES (per operation, default 200).
set -euo pipefail
# No default URL: the development server on :8080 holds somebody's data, which wapiti would change.
url=${1:?usage: scripts/scan.sh URL [ROLE...]}
url=${url%/}
case "$url" in http://127.0.0.1:*) ;; *) echo "loopback only: http://127.0.0.1:PORT" >&2; exit 2 ;; esac
shift || true
roles=${*:-api owner operator admin customer anonymous}
out=${SCAN_OUT:-target/scan}
if ! /usr/bin/python3 -c 'import brotli' 2>/dev/null; then
  echo "wapiti needs python3-brotli to read the portal's compressed pages: apt-get install python3-brotli" >&2
  exit 2
fi
mkdir -p "$out"
password=demo-password

# Where each crawl starts: its home page. (Wapiti does not follow a redirect without a body's
# content type, so "/" alone would lead nowhere.)
declare -A homes=(
  [owner]=/dashboard [operator]=/dashboard [admin]=/dashboard [customer]=/portal [anonymous]=/login
)
declare -A usernames=(
  [owner]=owner@northwind.example
  [operator]=operator
  [admin]=admin@northwind.example
  [customer]=contoso-portal
)

# Logs in like a browser: the form first (its CSRF token is in a hidden field and a cookie), then
# the post. Prints the session cookie's value.
login() {
  local user=$1 jar token
  jar=$(mktemp)
  token=$(curl -sf -c "$jar" -b "$jar" "$url/login" |
    sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n 1)
  curl -sf -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" \
    --data-urlencode "username=$user" --data-urlencode "password=$password" "$url/login"
  awk '$6 == "msp_session" { print $7 }' "$jar"
  rm -f "$jar"
}

# Wapiti's cookie file (the format wapiti-getcookie writes) holding one session cookie.
cookie_file() {
  local session=$1 file=$2 host
  host=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlparse(sys.argv[1]).hostname)' "$url")
  python3 - "$host" "$session" > "$file" <<'EOF'
import json, sys
host, value = sys.argv[1], sys.argv[2]
cookie = {"value": value, "version": 0, "expires": None, "secure": False, "port": None}
print(json.dumps({host: {"/": {"msp_session": cookie}}}, indent=2))
EOF
}

# The default set ("common") without ssrf (its payloads point at wapiti's servers on the
# internet), plus the checks of cookies, headers, CSP, forms' CSRF tokens, CRLF and HTTP methods.
modules=common,-ssrf,cookieflags,csp,http_headers,csrf,crlf,methods

# Debian's wapiti 3.0.4 builds its exclusion patterns as `...\Z(?ms)`, which Python 3.11 refuses
# ("global flags not at the start"), so any -x crashes it. Run it with that one function fixed.
run_wapiti() {
  /usr/bin/python3 - "$@" <<'PY'
import re, sys
import wapitiCore.net.crawler as crawler

def wildcard_translate(pattern):
    parts = (re.escape(part) for part in pattern.split("*"))
    return re.compile("(?ms)" + ".*".join(parts) + r"\Z")

crawler.wildcard_translate = wildcard_translate

# Its wapp module downloads a database from GitHub when it loads, even when it is not selected;
# the scan stays on loopback. (--endpoint below points payloads naming a server at a closed port.)
import wapitiCore.attack.mod_wapp as mod_wapp
mod_wapp.mod_wapp.__init__ = lambda self, *args: mod_wapp.Attack.__init__(self, *args)
from wapitiCore.main.wapiti import wapiti_main
sys.argv = ["wapiti"] + sys.argv[1:]
sys.exit(wapiti_main())
PY
}

wapiti_scan() {
  local role=$1 extra=()
  if [ "$role" != anonymous ]; then
    local session
    session=$(login "${usernames[$role]}")
    [ -n "$session" ] || { echo "login of $role failed" >&2; return 1; }
    cookie_file "$session" "$out/$role.cookies.json"
    extra=(-c "$out/$role.cookies.json" -x "$url/login*")
  fi
  # Excluded: what would end or turn the scanning session (log out, password change, logging in
  # as a customer) and what would lock the demo users out (admins' disable and password reset).
  run_wapiti -u "$url/" -s "$url${homes[$role]}" --scope folder -m "$modules" "${extra[@]}" \
    -x "$url/logout*" -x "$url/account/password*" -x "$url/impersonation*" \
    -x "$url/admins/*" -x "$url/set-password/*" -x "$url/api/*" \
    -d 4 --max-links-per-page 40 --max-files-per-dir 30 \
    --max-scan-time "${WAPITI_SCAN_TIME:-300}" --max-attack-time "${WAPITI_ATTACK_TIME:-60}" \
    --endpoint http://127.0.0.1:9/ --flush-session --store-session "$out/$role.session" \
    --no-bugreport -v 1 \
    -f json -o "$out/wapiti-$role.json" | tee "$out/wapiti-$role.log"
  # What the crawl reached: requests (links and forms), and the route shapes among them.
  sed -n '1,/Wapiti found/p' "$out/wapiti-$role.log" | grep -E '^\[\+\] (GET|POST) ' |
    awk '{ print $2, $3 }' | sed -E 's#\?.*##; s# https?://[^/]+# #; s#/[0-9]+#/{id}#g' | sort |
    awk '{ n[$1]++ } !seen[$0]++ { shapes++ } END {
      printf "  crawled: %d GET, %d POST; %d route shapes\n", n["GET"], n["POST"], shapes }'
  python3 - "$out/wapiti-$role.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
print(sys.argv[1])
from collections import Counter
found = Counter(
    (kind, name, item.get("level"), item.get("path"), item.get("parameter") or item.get("info"))
    for kind in ("vulnerabilities", "anomalies", "additionals")
    for name, items in report.get(kind, {}).items()
    for item in items
)
for (kind, name, level, path, detail), n in sorted(found.items(), key=str):
    print(f"  [{kind}] {name} (level {level}) {path} {detail}" + (f" ×{n}" if n > 1 else ""))
print(f"  {sum(found.values())} findings" if found else "  no findings")
EOF
}

api_scan() {
  local answer token
  answer=$(curl -s -H 'content-type: application/json' "$url/api/v1/register" -d "{\"customer\":\"Contoso\",
    \"pass_key\":\"demo-contoso\",\"client_id\":\"scan-$RANDOM\",\"hostname\":\"scan\",\"os\":\"linux\"}") || answer=
  token=$(printf '%s' "$answer" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["client_token"])' 2>/dev/null) || token=
  [ -n "$token" ] || { echo "registration with Contoso's demo pass key failed: $answer" >&2; return 1; }
  # From inside $out: schemathesis keeps its failures for `st replay` in .schemathesis/ there.
  (cd "$out" && schemathesis run "$url/api/openapi.json" --checks all \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-200}" -H "Authorization: Bearer $token" \
    --workers 1 --no-color --seed 11 --generation-database none --continue-on-failure \
    --report junit --report-dir schemathesis)
}

status=0
for role in $roles; do
  echo "== $role"
  case "$role" in
    api) api_scan || status=1 ;;
    owner|operator|admin|customer|anonymous) wapiti_scan "$role" || status=1 ;;
    *) echo "unknown role $role" >&2; exit 2 ;;
  esac
done
exit $status
