#!/usr/bin/env python3
"""Load test on loopback: N logged-in browsers walk the dashboard, customer list and customer
details while agents post reports, for a fixed time. Then it checks that no request got a 5xx and
that every report the server accepted is stored exactly once.

Usage: scripts/load.py [--url http://127.0.0.1:8080] [--sessions 8] [--agents 8] [--seconds 60]
       [--database postgres://postgres@127.0.0.1:5432/msp_portal]
Needs: a running portal with the demo data, Python 3, `psql` on the PATH. Standard library only.
"""
import argparse, http.cookiejar, json, re, subprocess, sys, threading, time, urllib.error, urllib.parse, urllib.request

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/msp_portal")
    args = ap.parse_args()
    host = urllib.parse.urlparse(args.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("load tests run against loopback only")
    stop_at = time.time() + args.seconds
    lock = threading.Lock()
    stats = {"pages": 0, "reports": 0, "5xx": [], "errors": []}
    accepted = set()

    def browser(n):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
        page = opener.open(args.url + "/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrf_token": token, "username": "admin@northwind.example",
                                       "password": "demo-password", "next": ""}).encode()
        try:
            opener.open(args.url + "/login", body)
        except urllib.error.HTTPError as e:
            if e.code != 303:
                raise
        paths = ["/dashboard", "/dashboard/expiring", "/dashboard/exceeding", "/customers", "/customers?sort=score"]
        customer_ids = []
        i = 0
        while time.time() < stop_at:
            path = paths[i % len(paths)] if i % 3 or not customer_ids else f"/customers/{customer_ids[i % len(customer_ids)]}/sla"
            i += 1
            try:
                html = opener.open(args.url + path, timeout=30).read().decode()
                if not customer_ids:
                    customer_ids = list(dict.fromkeys(re.findall(r'href="/customers/(\d+)"', html)))[:10]
                with lock:
                    stats["pages"] += 1
            except urllib.error.HTTPError as e:
                with lock:
                    (stats["5xx"] if e.code >= 500 else stats["errors"]).append(f"{path}: {e.code}")
            except Exception as e:  # connection reset and the like count as failures
                with lock:
                    stats["errors"].append(f"{path}: {e}")

    def register(n):
        # Each demo customer takes only so many clients (MCALs, max clients): try the next one.
        refusals = []
        for customer in ("Contoso", "Proseware", "Northwind Traders", "Adventure Works", "Litware"):
            pass_key = "demo-" + customer.lower().replace(" ", "-")
            body = json.dumps({"customer": customer, "pass_key": pass_key, "client_id": f"LOAD-{n:03}"}).encode()
            req = urllib.request.Request(args.url + "/api/v1/register", body, {"content-type": "application/json"})
            try:
                return json.load(urllib.request.urlopen(req, timeout=30))["client_token"]
            except urllib.error.HTTPError as e:
                refusals.append(f"{customer}: {e.code} {e.read().decode(errors='replace')[:120]}")
        raise RuntimeError("no demo customer accepts another agent: " + "; ".join(refusals))

    def agent(n):
        try:
            token = register(n)
        except Exception as e:
            with lock:
                stats["errors"].append(f"register: {e}")
            return
        seq = 0
        while time.time() < stop_at:
            seq += 1
            job_id = f"load-{n}-{seq}-{int(time.time() * 1000)}"
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            report = {"jobs": [{"id": job_id, "kind": "backup", "started_at": now, "ended_at": now,
                                 "status": "succeeded", "bytes": 1024}]}
            req = urllib.request.Request(args.url + "/api/v1/reports", json.dumps(report).encode(),
                                         {"content-type": "application/json", "authorization": f"Bearer {token}"})
            try:
                answer = json.load(urllib.request.urlopen(req, timeout=30))
                with lock:
                    stats["reports"] += 1
                    if answer.get("accepted") == 1:
                        accepted.add(job_id)
            except urllib.error.HTTPError as e:
                with lock:
                    if e.code >= 500:
                        stats["5xx"].append(f"report: {e.code}")
                if e.code == 429:
                    time.sleep(float(e.headers.get("retry-after", "1")))
            except Exception as e:
                with lock:
                    stats["errors"].append(f"report: {e}")

    threads = [threading.Thread(target=browser, args=(n,)) for n in range(args.sessions)]
    threads += [threading.Thread(target=agent, args=(n,)) for n in range(args.agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = "{" + ",".join(accepted) + "}"
    sql = ("SELECT count(*), count(DISTINCT external_id) FROM backup_jobs "
           f"WHERE external_id = ANY('{ids}'::text[])")
    # On standard input: thousands of ids make too long a command line.
    out = subprocess.run(["psql", args.database, "-At"], input=sql, capture_output=True, text=True, check=True).stdout.strip()
    stored, distinct = (int(x) for x in out.split("|"))
    print(f"{stats['pages']} pages, {stats['reports']} reports ({len(accepted)} accepted) in {args.seconds} s "
          f"with {args.sessions} browsers and {args.agents} agents")
    print(f"accepted reports stored: {stored} rows for {len(accepted)} jobs ({distinct} distinct)")
    print(f"5xx answers: {len(stats['5xx'])}; other failures: {len(stats['errors'])}")
    for line in (stats["5xx"] + stats["errors"])[:10]:
        print("  " + line)
    ok = not stats["5xx"] and stored == len(accepted) == distinct
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

if __name__ == "__main__":
    main()
