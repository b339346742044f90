"""Where an index's refresh of its derived files goes: the keyword index and the dense mirror, profiled.

Runs `Index.refresh_derived` on an existing index folder (or a team reader's cache) as a commit that changed
the last --docs documents would, under cProfile, and prints the time of the whole refresh, of the keyword
index's update and of the mirror's refresh. The folder's derived files are rewritten (same generation).

    .venv/bin/python bench/refresh_cost.py --index bench/out/million/caches-1000000/reader/policy-assistant/127.0.0.1-47809-million --team http://127.0.0.1:47809/million
    .venv/bin/python bench/refresh_cost.py --index bench/out/work/index-100000
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--docs", type=int, default=387, help="how many documents the simulated commit changed")
    ap.add_argument("--team", help="URL/COLLECTION when --index is a team reader's cache (the server need not run)")
    a = ap.parse_args()
    from assistant.stores import Index
    from assistant.stores import vectors as vector_store

    team = None
    url = None
    if a.team:
        from assistant.stores.server import TeamServer

        url, name = a.team.rsplit("/", 1)
        vector_store.chroma_server_answered(url)  # every vector is in the mirror: nothing is asked of the server
        team = TeamServer(url, name)
    index = Index(a.index, url, create=bool(team), team=team)
    m = index.manifest
    docs = {r[0] for r in m.db.execute("SELECT doc_id FROM documents ORDER BY rowid DESC LIMIT ?", (a.docs,))}
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    index.refresh_derived(docs, m.generation)
    prof.disable()
    total = time.perf_counter() - t
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]

    def cum(name: str) -> float:
        return round(sum(v[3] for k, v in stats.items() if k[2] == name), 2)

    print(json.dumps({"chunks": m.counts()[1], "changed_documents": len(docs), "refresh_seconds": round(total, 2),
                      "keyword_update_seconds": cum("update"), "mirror_refresh_seconds": cum("_refresh_mirror"),
                      "load": os.getloadavg()}, indent=1))
    index.close()


if __name__ == "__main__":
    main()
