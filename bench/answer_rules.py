"""What each question-type answer rule contributes, measured on dev data the rules were not written for.

    .venv/bin/python bench/answer_rules.py                  # every rule off in turn, against all rules on (about 15 min)
    .venv/bin/python bench/answer_rules.py --rules types    # one rule

Each rule of assistant/answering.py that can be switched off (ASSISTANT_ANSWER_RULES_OFF) is switched off in a
fresh `assistant eval` process, on four sets:

- facts-dev: eval/out/regeringen-facts/dev.yaml (typed fact questions derived from regeringen-sv sentences,
  eval/datasets/make_regeringen_facts.py) against the full regeringen-sv index: answer accuracy;
- swefaq-dev: SweFAQ-dev's dev split, half its gold documents held out: answered from gold, refusal recall;
- regeringen-dev: regeringen-ki's dev split, likewise;
- seed-77: eval/questions.yaml on the seed corpus (the regression set; a rule that only helps here is overfitting).

It prints one row per rule with each set's figures less the figures with every rule on (positive: the rule helps).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RULES = ("types", "names", "years", "subject", "signatures", "fields", "vetoes")
FULL_INDEX = OUT / "regeringen-full-index"


def run_eval(args: list[str], off: str) -> dict:
    """The aggregate of one `assistant eval --json` run with these rules off."""
    env = dict(os.environ, ASSISTANT_ANSWER_RULES_OFF=off, ANONYMIZED_TELEMETRY="False")
    out = OUT / "rules-eval"
    r = subprocess.run([sys.executable, "-m", "assistant", "eval", *args, "--out", str(out), "--json"], cwd=ROOT,
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"eval {' '.join(args)} failed: {r.stderr.strip()[-400:]}")
    return json.loads(r.stdout)["aggregate"]["overall"]


def sets() -> dict[str, tuple[list[str], tuple[str, ...]]]:
    """Each set's eval arguments and the figures reported for it."""
    seed = OUT / "rules-seed-index"
    if not seed.exists():
        subprocess.run([sys.executable, "-m", "assistant", "ingest", "--index", str(seed), "corpus"], cwd=ROOT,
                       check=True, capture_output=True)
    return {
        "facts-dev": (["eval/out/regeringen-facts/dev.yaml", "--index", str(FULL_INDEX)], ("answer_accuracy",)),
        "swefaq-dev": (["--dataset", "eval/datasets/swefaq-dev", "--split", "dev", "--hold-out-gold", "0.5",
                        "--index", str(OUT / "rules-swefaq-index")], ("answered_correctly", "refusal_recall")),
        "regeringen-dev": (["--dataset", "eval/out/regeringen-ki", "--split", "dev", "--hold-out-gold", "0.5",
                            "--index", str(OUT / "fit-index-regeringen-ki-0.5-0")], ("answered_correctly", "refusal_recall")),
        "seed-77": (["eval/questions.yaml", "--index", str(seed)], ("answer_accuracy", "refusal_recall")),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", default=",".join(RULES), help="comma-separated rules to switch off one at a time")
    args = ap.parse_args()
    plan = sets()
    base = {name: run_eval(a, "") for name, (a, _) in plan.items()}
    head = ["rule off"] + [f"{n} {k}" for n, (_, keys) in plan.items() for k in keys]
    print(" | ".join(head))
    print(" | ".join(["(all on)"] + [f"{base[n][k]:.3f}" for n, (_, keys) in plan.items() for k in keys]))
    for rule in args.rules.split(","):
        cur = {name: run_eval(a, rule) for name, (a, _) in plan.items()}
        # positive: the figure is higher with the rule on
        print(" | ".join([rule] + [f"{base[n][k] - cur[n][k]:+.3f}" for n, (_, keys) in plan.items() for k in keys]),
              flush=True)


if __name__ == "__main__":
    main()
