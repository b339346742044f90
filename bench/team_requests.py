"""What a team reader's command costs when its cache is current: HTTP requests and time, on a slow network too.

Starts a `chroma run` on loopback and, in front of it, a small TCP proxy that counts the HTTP requests it
forwards and holds each one back --delay-ms (a stand-in for a network round trip). The seed corpus is
ingested through the proxy as the team's writer; then a reader with its own cache opens the team index
(`open_index`, what every command does first: read head, catch up if it moved) --runs times in one process.

    .venv/bin/python bench/team_requests.py --delay-ms 0 --runs 200
    .venv/bin/python bench/team_requests.py --delay-ms 25 --runs 30

Prints JSON: requests per open with a current cache, and the open's median / p10 / p90 in ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
SEED = ROOT.parent / "shared" / "seed-corpus"


class Proxy:
    """A TCP proxy to 127.0.0.1:upstream that counts requests (client sends) and delays each by `delay` s."""

    def __init__(self, upstream: int, delay: float) -> None:
        self.upstream, self.delay, self.requests = upstream, delay, 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            c, _ = self.sock.accept()
            u = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket, client: bool) -> None:
        try:
            while data := a.recv(65536):
                if client:
                    self.requests += sum(data.count(m) for m in (b"GET /", b"POST /", b"PUT /", b"DELETE /"))
                    if self.delay:
                        time.sleep(self.delay)
                b.sendall(data)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.close()
            except OSError:
                pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--runs", type=int, default=50)
    a = ap.parse_args()
    from team_server import chroma_server

    from assistant.config import Settings
    from assistant.ingestion import ingest
    from assistant.stores import open_index

    with tempfile.TemporaryDirectory(prefix="team-req-") as tmp:
        with chroma_server(Path(tmp) / "db") as (_, url):
            proxy = Proxy(int(url.rsplit(":", 1)[1]), a.delay_ms / 1000)
            settings = Settings(chroma_url=f"http://127.0.0.1:{proxy.port}")
            os.environ["XDG_CACHE_HOME"] = f"{tmp}/writer"
            ingest([SEED], settings)
            os.environ["XDG_CACHE_HOME"] = f"{tmp}/reader"
            open_index(settings).close()  # the first catch-up
            times, counts = [], []
            for _ in range(a.runs):
                before = proxy.requests
                t = time.perf_counter()
                open_index(settings).close()
                times.append((time.perf_counter() - t) * 1000)
                counts.append(proxy.requests - before)
    times.sort()
    print(json.dumps({"delay_ms": a.delay_ms, "runs": a.runs, "requests_per_open": sorted(set(counts)),
                      "open_median_ms": round(statistics.median(times), 1),
                      "open_p10_ms": round(times[len(times) // 10], 1), "open_p90_ms": round(times[9 * len(times) // 10], 1),
                      "load": os.getloadavg()}, indent=1))


if __name__ == "__main__":
    main()
