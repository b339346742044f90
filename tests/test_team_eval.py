"""`assistant eval` in team mode (issue 22): it scores the team's index through this client's cache.

A real `chroma run` on loopback holds the seed corpus; the same eval on a local index of the same documents
gives the same scores. `--dataset` builds its own local index and leaves the team index alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import CORPUS, ROOT, run_cli
from test_server import running_chroma

pytestmark = pytest.mark.slow

COLLECTION = "evalteam"


@pytest.fixture(scope="module")
def team_index(tmp_path_factory):
    """(server URL, writer's env, folder): a Chroma server whose team index holds corpus/, ingested by a writer."""
    home = tmp_path_factory.mktemp("team-eval")
    (home / "none.toml").write_text("", encoding="utf-8")
    with running_chroma(home / "chroma") as url:
        writer = env_of(home, "writer", url)
        r = run_cli("ingest", str(CORPUS), "--json", env=writer)
        assert r.returncode == 0, r.stderr
        yield url, writer, home


def env_of(home: Path, name: str, url: str) -> dict:
    """One team member's environment: its own cache folder, the team's server, no index folder."""
    return {"XDG_CACHE_HOME": str(home / f"cache-{name}"), "ASSISTANT_CHROMA_URL": url, "ASSISTANT_CHROMA_COLLECTION": COLLECTION,
            "ASSISTANT_INDEX": "", "ASSISTANT_CONFIG": str(home / "none.toml"), "ASSISTANT_HISTORY": "off"}


def one_of_each_kind(path: Path) -> int:
    """Write the first question of each language and kind of eval/questions.yaml (12 of the 77) to path."""
    data = yaml.safe_load((ROOT / "eval" / "questions.yaml").read_text(encoding="utf-8"))
    seen: set[tuple[str, str]] = set()
    picked = []
    for q in data["questions"]:
        if (q["language"], q["kind"]) not in seen:
            seen.add((q["language"], q["kind"]))
            picked.append(q)
    path.write_text(yaml.safe_dump({"version": 1, "questions": picked}, allow_unicode=True), encoding="utf-8")
    return len(picked)


def without_latency(value):
    """Scores and answers with the timings (which differ run to run) left out, and floats to 9 places.

    (A sentence's raw score can differ in its 16th digit: sums taken in another order.)
    """
    if isinstance(value, dict):
        return {k: without_latency(v) for k, v in value.items() if not k.startswith("latency")}
    if isinstance(value, list):
        return [without_latency(v) for v in value]
    return round(value, 9) if isinstance(value, float) else value


def test_team_eval_scores_the_team_index_as_a_local_index_of_the_same_documents(team_index, tmp_path):
    url, _, home = team_index
    questions = tmp_path / "questions.yaml"
    n = one_of_each_kind(questions)
    reader = {**env_of(home, "reader", url), "ASSISTANT_CHROMA_URL": ""}  # the server comes from --chroma-url
    r = run_cli("eval", str(questions), "--chroma-url", url, "--json", "--out", str(tmp_path / "team"), env=reader)
    assert r.returncode == 0, r.stderr
    team = json.loads(r.stdout)

    local_env = {"ASSISTANT_CHROMA_URL": "", "ASSISTANT_CONFIG": str(home / "none.toml"), "ASSISTANT_HISTORY": "off"}
    assert run_cli("ingest", str(CORPUS), "--index", str(tmp_path / "local"), env=local_env).returncode == 0
    r = run_cli("eval", str(questions), "--index", str(tmp_path / "local"), "--json", "--out", str(tmp_path / "out-local"),
                env=local_env)
    assert r.returncode == 0, r.stderr
    local = json.loads(r.stdout)

    assert without_latency(team["aggregate"]) == without_latency(local["aggregate"])
    assert team["aggregate"]["overall"]["answer_accuracy"] > 0.5 and team["aggregate"]["overall"]["citation_verifiability"] == 1.0
    team_results = json.loads((tmp_path / "team" / "results.json").read_text(encoding="utf-8"))
    local_results = json.loads((tmp_path / "out-local" / "results.json").read_text(encoding="utf-8"))
    assert len(team_results["questions"]) == n
    assert without_latency(team_results["questions"]) == without_latency(local_results["questions"])  # answer for answer
    config = team_results["config"]  # which team index, at which generation, through which cache
    assert (config["server"], config["collection"], config["server_generation"]) == (url, COLLECTION, 1)
    assert config["index"].startswith(str(home / "cache-reader"))


def test_dataset_eval_in_team_mode_builds_its_own_index_and_leaves_the_team_index_alone(team_index, tmp_path):
    url, writer, _ = team_index
    before = json.loads(run_cli("index", "status", "--json", env=writer).stdout)
    data = tmp_path / "beir"
    (data / "qrels").mkdir(parents=True)
    docs = {"d1": ("Hundeskat", "Hundeskatten i kommunen udgør 300 kroner om året for hver hund."),
            "d2": ("Parkering", "Beboerlicens til parkering koster 120 kroner om året og søges digitalt."),
            "d3": ("Bibliotek", "Biblioteket har åbent fra klokken 8 til 22 alle ugens dage.")}
    queries = {"q1": "Hvor meget er hundeskatten om året?", "q2": "Hvad koster en beboerlicens til parkering?",
               "q3": "Hvornår har biblioteket åbent?"}
    (data / "corpus.jsonl").write_text("".join(json.dumps({"_id": k, "title": t, "text": x}, ensure_ascii=False) + "\n"
                                               for k, (t, x) in docs.items()), encoding="utf-8")
    (data / "queries.jsonl").write_text("".join(json.dumps({"_id": k, "text": q}, ensure_ascii=False) + "\n"
                                                for k, q in queries.items()), encoding="utf-8")
    (data / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n", encoding="utf-8")

    r = run_cli("eval", "--dataset", str(data), "--json", "--out", str(tmp_path / "out"), env=writer)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)["aggregate"]["overall"]
    assert out["documents"] == 3 and out["recall@5"] == 1.0  # scored on the dataset's own three documents
    note = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(note) == 1 and "builds its own temporary index" in note[0] and url in note[0] and COLLECTION in note[0]
    after = json.loads(run_cli("index", "status", "--json", env=writer).stdout)
    assert (after["server_generation"], after["documents"], after["chunks"]) == (
        before["server_generation"], before["documents"], before["chunks"])  # the team index is untouched
