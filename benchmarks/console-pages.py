"""The timing half of benchmarks/console-pages.sh (read its header): signs in to a running console as a browser does and
times its pages on one kept-alive connection. Prints one tab-separated line per page: name, query, rows shown, then the first
request's milliseconds and the median, 95th percentile and maximum of SAMPLES more. Exits 1 when a page does not answer 200 with
the rows it should.

    CONSOLE_PASSWORD=... python3 console-pages.py BASE_URL OPERATOR SAMPLES ACCOUNTS AUDIT STORE
"""
import http.client
import os
import re
import statistics
import sys
import time
import urllib.parse

base, operator, samples, accounts, audit, store = sys.argv[1:7]
password = os.environ["CONSOLE_PASSWORD"]
samples, accounts, audit = int(samples), int(accounts), int(audit)
url = urllib.parse.urlsplit(base)
connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
cookies = {}


def request(method, path, body=None):
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    text = response.read().decode("utf-8")
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            cookies[name] = rest.split(";", 1)[0]
    return response.status, response.getheader("Location"), text


# Sign in: the login form's hidden fields (the antiforgery token, the form's handler name) posted back with the credentials.
status, _, form = request("GET", "/console/login")
if status != 200:
    sys.exit(f"{store}: GET /console/login answered {status}")
fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
fields.update({"Name": operator, "Password": password})
status, location, _ = request("POST", "/console/login", urllib.parse.urlencode(fields))
if status not in (302, 303) or "login" in (location or ""):
    sys.exit(f"{store}: signing in answered {status} (to {location})")

now = int(time.time())
day = 86400


def stamp(seconds_ago):
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(now - seconds_ago))


def account(n):
    return f"acct-{100000 + n}"


middle_entry = audit // 2


def page(matches):
    """The rows a page shows for about `matches` matching entries: a full page, or (on a small trail) at least one."""
    return 50 if matches >= 100 else (1, 50)


# (name, path, expected rows: an exact number, or (low, high))
pages = [
    ("accounts: first page", "/console/accounts", 50),
    ("accounts: a middle page", f"/console/accounts?after={account(accounts // 2)}", 50),
    ("accounts: the last page", f"/console/accounts?after={account(accounts - 10)}", 11),  # and the template account
    ("accounts: search, 100 names match", f"/console/accounts?q={account(accounts // 2)[:-2]}", 50),
    ("accounts: search, no name matches", "/console/accounts?q=nobody", 0),
    ("audit: newest entries", "/console/audit", 50),
    ("audit: one account", f"/console/audit?account={account(accounts * 42 // 100)}", (1, 50)),
    ("audit: the routine action (80%)", "/console/audit?action=get", 50),
    ("audit: one action (10%)", "/console/audit?action=newpass", page(audit // 10)),
    ("audit: a rare action (one entry)", "/console/audit?action=account.add", 1),
    ("audit: an outcome never recorded", "/console/audit?outcome=too+many+tokens", 0),
    ("audit: one outcome (1%)", "/console/audit?outcome=rate+limited", page(audit // 100)),
    ("audit: one address", "/console/audit?address=10.42.21.7", (1, 50)),
    ("audit: one day, two weeks ago", f"/console/audit?from={stamp(15 * day)}&to={stamp(14 * day)}", page(audit // 30)),
    ("audit: since yesterday", f"/console/audit?from={stamp(day)}", page(audit // 30)),
    ("audit: a week, three weeks ago", f"/console/audit?from={stamp(28 * day)}&to={stamp(21 * day)}", page(audit // 4)),
    ("audit: one action in the oldest day", f"/console/audit?action=delete&from={stamp(30 * day)}&to={stamp(29 * day)}", page(audit // 300)),
    ("audit: account and outcome, rare", f"/console/audit?account={account(accounts * 42 // 100)}&outcome=authentication+failure", (0, 50)),
    ("audit: a deep page", f"/console/audit?before={middle_entry}", 50),
    ("audit: a deep page of a month", f"/console/audit?from={stamp(31 * day)}&before={middle_entry}", 50),
    ("audit: no entry matches", "/console/audit?account=nobody", 0),
]


def timed(path):
    started = time.perf_counter()
    status, location, text = request("GET", path)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, status, location, text


failed = False
for name, path, expected in pages:
    first, status, location, text = timed(path)
    rows = text.count("<tr>") - text.count("<thead>")
    low, high = expected if isinstance(expected, tuple) else (expected, expected)
    if status != 200 or not low <= rows <= high:
        print(f"{store}: {name}: {path} answered {status} {location or ''} with {rows} rows (expected {expected})", file=sys.stderr)
        failed = True
        continue
    times = sorted(timed(path)[0] for _ in range(samples))
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    print("\t".join([name, path, str(rows), f"{first:.1f}", f"{statistics.median(times):.1f}", f"{p95:.1f}", f"{times[-1]:.1f}"]), flush=True)

sys.exit(1 if failed else 0)
