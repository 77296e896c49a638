"""The `classifier` phase: the local intent provider alone, in one process, no server or database.

What the scoring job's figure can't show: how much of it is the AI layer. Each run is a fresh
interpreter (`python -m bench.classifier --once N --seed S`), so its caches (title readings, stems,
the offer's keyword index) start cold as in a new worker; it generates the leads first (untimed),
then times one `LocalIntentProvider.classify_many` over all of them for the bench offer, and prints
a JSON line with the seconds, the CPU seconds and the verdict counts. The CPU time is the figure
to compare on a shared machine: other work stretches the wall clock, not the CPU a lead costs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from bench.generate import DEFAULT_SEED, LeadGenerator
from bench.phases import OFFER
from bench.stack import REPO


def _once(size: int, seed: int) -> dict[str, Any]:
    from leads.scoring.intent.local import LocalIntentProvider
    from leads.scoring.types import IntentResult, LeadData, OfferData

    offer = OfferData(OFFER["name"], tuple(OFFER["value_props"]), tuple(OFFER["ideal_use_cases"]),
                      tuple(OFFER["adjacent_industries"]))
    leads = [LeadData(*row[:6]) for row in LeadGenerator(seed).rows(size)]
    provider = LocalIntentProvider()
    started, cpu_started = time.perf_counter(), time.process_time()
    results = provider.classify_many(leads, offer)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    intents = Counter(r.intent if isinstance(r, IntentResult) else "failed" for r in results)
    return {"leads": size, "seconds": seconds, "leads_per_s": size / seconds,
            "us_per_lead": seconds / size * 1e6, "cpu_seconds": cpu_seconds,
            "cpu_us_per_lead": cpu_seconds / size * 1e6,
            "intents": dict(sorted(intents.items()))}


def measure_classifier(size: int, *, seed: int = DEFAULT_SEED, timeout: float = 600.0) -> dict[str, Any]:
    """One cold run in a child interpreter."""
    out = subprocess.run([sys.executable, "-m", "bench.classifier", "--once", str(size), "--seed", str(seed)],
                         cwd=REPO, capture_output=True, text=True, check=True, timeout=timeout)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.classifier", description=__doc__)
    parser.add_argument("--once", type=int, required=True, help="leads to classify")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    print(json.dumps(_once(args.once, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
