"""A callout through require('http') from a script against httpx called directly, per request.

A local HTTP/1.1 server (keep-alive, Nagle off) answers GET /ping with a small JSON body. Route
scripts on the embedded in-memory store run: one that does nothing (the baseline) and one that
makes 5 callouts (the per-run maximum); per callout = (median run - median baseline run) / 5.
The same number of GETs made with one ``httpx.Client`` directly give the direct cost per
request. It prints both, the ratio module / direct (target <= 1.5x), and a whole run with one
callout against one direct request. Nothing is asserted about times.

    .venv/bin/python bench/bench_http.py            # ~6 s
    .venv/bin/python bench/bench_http.py --quick    # ~2 s
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cortex_runtime.runtime import Runtime  # noqa: E402

BODY = b'{"ok":true,"n":42}'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


BASELINE = "return script.arguments.url.length"
FIVE = "const http = require('http'), u = script.arguments.url; let n = 0; for (let i = 0; i < 5; i++) n += http.get(u).body.length; return n"
ONE = "return require('http').get(script.arguments.url).body.length"


def main() -> int:
    quick = "--quick" in sys.argv
    runs = 60 if quick else 300
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/ping"

    runtime = Runtime()
    runtime.callout_allow = ["127.0.0.1"]
    org, admin = runtime.orgs.create("benchhttp")
    runtime.sandbox.warm()

    def run(source: str) -> float:
        started = time.perf_counter()
        result = runtime.run(source, org=org, principal=admin, arguments={"url": url})
        elapsed = time.perf_counter() - started
        if not result.ok:
            raise SystemExit(f"the script failed: {result.fault and result.fault.to_json()}")
        runtime.sandbox.warm_one()  # refill off the clock, as the server does between requests
        return elapsed

    client = httpx.Client()

    def direct() -> float:
        started = time.perf_counter()
        response = client.get(url)
        response.raise_for_status()
        len(response.text)
        return time.perf_counter() - started

    for _ in range(20):  # warm up: compile, connections
        run(BASELINE), run(FIVE), run(ONE), direct()
    baseline, five, one, plain = [], [], [], []
    for _ in range(runs):  # interleaved, so drift hits all alike
        baseline.append(run(BASELINE))
        five.append(run(FIVE))
        one.append(run(ONE))
        plain.append(direct())
    per_callout = (statistics.median(five) - statistics.median(baseline)) / 5
    per_direct = statistics.median(plain)
    print(f"runs per kind:                 {runs}")
    print(f"baseline run (no callout):     {statistics.median(baseline) * 1e6:8.1f} us")
    print(f"run with 5 callouts:           {statistics.median(five) * 1e6:8.1f} us")
    print(f"per callout through the module {per_callout * 1e6:8.1f} us")
    print(f"httpx directly, per request    {per_direct * 1e6:8.1f} us")
    print(f"ratio module / direct          {per_callout / per_direct:8.2f}x (target <= 1.5x)")
    print(f"whole run with 1 callout       {statistics.median(one) * 1e6:8.1f} us ({statistics.median(one) / per_direct:.2f}x one direct request)")
    client.close()
    httpd.shutdown()
    runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
