"""The learned model on generated leads, without the stack: training time and per-lead prediction.

    python -m bench.learned                          # 100,000 rows with 200-word bios, then predict
    python -m bench.learned --rows 20000 --bio-words 50

Rows look like `featurize()` output: the lead fields, 20 uploaded columns (numbers as people write
them, categories, noise), an event count, days since creation and last activity, one rule hit and
a bio drawn from a 5,000-word Zipf vocabulary; the outcome follows a known logistic signal. Times
are printed as wall and CPU seconds with the load average, because this machine is shared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time

from leads.scoring.learned import LearnedModel, predict
from leads.services.training import fit_learned_model

INDUSTRIES = ("SaaS", "Retail", "Manufacturing", "Finance", "Healthcare", "Education", "Logistics")
VOCABULARY = [f"word{i}" for i in range(5000)]
WEIGHTS = [1.0 / (rank + 1) for rank in range(len(VOCABULARY))]


def generate(n: int, *, seed: int, bio_words: int) -> tuple[list[dict[str, object]], list[bool]]:
    rng = random.Random(seed)
    pool = rng.choices(VOCABULARY, WEIGHTS, k=200_000)
    rows, won = [], []
    for _ in range(n):
        budget = rng.choice([5_000, 20_000, 50_000, 200_000, 1_200_000])
        industry = rng.choice(INDUSTRIES)
        start = rng.randrange(len(pool) - bio_words)
        bio = pool[start:start + bio_words]
        says_budget = rng.random() < 0.3
        if says_budget:
            bio[rng.randrange(bio_words)] = "budget"
        opens = rng.randrange(10)
        logit = -1.0 + 1.2 * (industry == "SaaS") + 0.8 * (budget >= 200_000) + 1.0 * says_budget + 0.15 * opens
        row: dict[str, object] = {
            "industry": industry, "role": rng.choice(["VP Sales", "CEO", "Engineer", "Intern"]),
            "location": rng.choice(["Berlin", "Austin", "Paris", ""]), "status": "new", "owner": "",
            "tags": tuple(rng.sample(["vip", "newsletter", "event"], rng.randrange(3))),
            "linkedin_bio": " ".join(bio),
            "attributes.budget": rng.choice([f"{budget // 1000}k", f"{budget:,}", f"{budget / 1e6:g}M"]),
            "attributes.company_size": rng.choice(["1-10", "11-50", "51-200", "201-500", None]),
            "attributes.noise": f"{rng.random():.4f}",
            "events.email_open.count": opens,
            "days_since_creation": rng.randrange(400),
            "last_activity_days_ago": rng.choice([None, rng.randrange(90)]),
        }
        for column in range(17):
            row[f"attributes.extra_{column}"] = (rng.choice(["a", "b", "c", "d", str(rng.randrange(100))])
                                                 if column % 2 else rng.randrange(1000))
        if rng.random() < 0.3:
            row["rule:Decision maker role"] = True
        rows.append(row)
        won.append(rng.random() < 1.0 / (1.0 + math.exp(-logit)))
    return rows, won


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bio-words", type=int, default=200)
    parser.add_argument("--predict-leads", type=int, default=2000)
    args = parser.parse_args()

    rows, won = generate(args.rows, seed=0, bio_words=args.bio_words)
    print(f"{args.rows:,} rows, {len(rows[0])} features each, {args.bio_words}-word bios, {sum(won):,} won")
    wall, cpu = time.perf_counter(), time.process_time()
    result = fit_learned_model(rows, won)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"training: {wall:.1f} s wall, {cpu:.1f} s CPU (load average {os.getloadavg()[0]:.1f}); "
          f"C {result.regularization_c}, cv_auc {result.cv_auc:.4f}, holdout_auc {result.holdout_auc:.4f}")

    model = LearnedModel.from_json(json.loads(json.dumps(result.model.to_json())))
    leads, _ = generate(args.predict_leads, seed=1, bio_words=args.bio_words)
    best = math.inf
    for _ in range(5):
        start = time.process_time()
        for features in leads:
            predict(model, features)
        best = min(best, (time.process_time() - start) / len(leads))
    print(f"predict: {best * 1e6:.1f} us per lead, CPU time, best of 5 passes over {len(leads):,} leads "
          f"({len(model.columns)} model columns; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
