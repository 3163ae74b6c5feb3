"""What keeping N run log records (and N nonces) costs in memory on the embedded store.

    .venv/bin/python bench/store_reference.py 50000

Prints one JSON line: the RSS growth of this process (VmRSS) after storing N log records as
``Runtime`` writes them (one per run of ``return 1``) and N signed-request nonces as the
authenticator keeps them. bench_growth.py runs it to compare a server's growth with the data
it is supposed to keep.
"""

from __future__ import annotations

import gc
import json
import secrets
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cortex_runtime.runtime import Runtime  # noqa: E402
from cortex_runtime.sandbox import RunResult  # noqa: E402


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    runtime = Runtime()
    org, admin = runtime.orgs.create("reference")
    result = RunResult(value=1)
    result.stats.ops = 3
    gc.collect()
    before = rss_kb()
    expires = datetime.now(timezone.utc) + timedelta(minutes=16)
    for _ in range(count):
        runtime._log(org, admin, "route", None, runtime.clock.now(), result)
        runtime.store.nonces.insert_one({"signature": secrets.token_hex(32), "nonce": secrets.token_urlsafe(12)[:16], "expires": expires})
    gc.collect()
    grown = rss_kb() - before
    print(json.dumps({"records": count, "rssGrowthKb": grown, "perRecordKb": round(grown / count, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
