"""The machine description, the targets, and the markdown table written to bench/results/."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import subprocess
from pathlib import Path
from typing import Any

from bench.floors import server_batch_size
from bench.stack import REPO

# The product's targets (issue 7). Each: key, description, limit, unit, how to read it from the data.
IMPORT_TARGET_S = 60.0
IMPORT_AIM_S = 30.0
IMPORT_RSS_MB = 300.0
SCORE_TARGET_S = 120.0
OPENAI_TARGET = 60.0
OPENAI_MIN_LEADS = 1000  # a sustained rate: a few hundred leads measure mostly the job's start-up
RESULTS_P95_MS = 100.0
SEARCH_P95_MS = 150.0
# The search the issue measured (660 ms first page, 1.26 s deep page at 1M before the index).
SEARCH_QUERY = "search=nimbus"
EXPORT_TARGET_S = 30.0
# "Flat memory": after the first fifth of the 1M-row stream (caches filled), no server process's private
# RSS grows by this much more — memory that does not scale with the rows streamed.
EXPORT_FLAT_MB = 16.0
# A 20-rule custom model (the default template + 15 rules) scores the same leads at most this much slower.
CUSTOM_MODEL_RATIO = 1.3
DISTRIBUTION_P95_MS = 300.0
TARGET_SIZE = 1_000_000
DASHBOARD_P95_MS = 150.0
# Automations (score_threshold webhook): scoring with the workflow active at most 10 % slower than the same
# scoring without one, and a burst of 10,000 crossings delivered within 60 s of the job's end, none twice.
# Judged at the largest size that has the full burst (100k leads and up: smaller sizes cross a tenth).
# The learned model (issue 14): training on 100,000 outcomes in under a minute; scoring with the learned
# part (weight 30) at most 1.3× the default model's time (judged at 1M); on the X Education leads, the
# product's cross-validated AUC at least a plain scikit-learn logistic regression's.
TRAIN_TARGET_S = 60.0
TRAIN_TARGET_OUTCOMES = 100_000
LEARNED_RATIO = 1.3
AUTOMATION_RATIO = 1.10
AUTOMATION_DELIVERY_S = 60.0
AUTOMATION_BURST = 10_000
# Engagement events (issue 11): 10,000,000 events for 1,000,000 leads through POST /api/events/ at
# 50,000 a second or more, and the rescore of the leads they touched within 1.3× a plain scoring of
# as many leads.
EVENTS_TARGET_PER_S = 50_000.0
EVENTS_TARGET_TOTAL = 10_000_000
EVENT_RESCORE_RATIO = 1.3


def _git(*args: str) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False)
        return result.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        import django

        django_version = django.get_version()
    except ImportError:
        django_version = "?"
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    if _git("status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    return {"cores": os.cpu_count(), "cpu": cpu or platform.processor(), "memory_gb": memory_gb,
            "os": platform.platform(terse=True), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "django": django_version, "commit": commit,
            "database": "SQLite (WAL) + filesystem Celery broker (embedded default)",
            "load_average_at_start": round(os.getloadavg()[0], 2)}


# --- numbers -----------------------------------------------------------------------------------


def stats(values: list[float]) -> dict[str, float] | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def _num(value: float, digits: int | None = None) -> str:
    if digits is None:
        digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f}"


def spread(values: list[float], digits: int | None = None) -> str:
    """'median (min–max)' or 'value (1 run)'."""
    s = stats(values)
    if s is None:
        return "—"
    if s["n"] == 1:
        return f"{_num(s['median'], digits)} (1 run)"
    return f"{_num(s['median'], digits)} ({_num(s['min'], digits)}–{_num(s['max'], digits)})"


def median(values: list[float]) -> float | None:
    s = stats(values)
    return None if s is None else s["median"]


def rounded(value: Any) -> Any:
    """Floats to 4 significant digits, so the JSON file stays small and diff-friendly."""
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def _size(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


# --- targets -----------------------------------------------------------------------------------


def targets(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) rows; a target whose size was not run says so."""
    rows: list[tuple[str, str, str]] = []
    key = str(TARGET_SIZE)

    def verdict(ok: bool) -> str:
        return "✅ met" if ok else "❌ missed"

    largest = max([int(k) for k in data.get("import", {})] or [0])
    missing = f"not measured (largest size {_size(largest)})" if largest else "not measured"

    imports = data.get("import", {}).get(key)
    if imports:
        seconds = median([r["seconds"] for r in imports])
        ok = seconds < IMPORT_TARGET_S
        note = " (aim 30 s: met)" if seconds < IMPORT_AIM_S else " (aim 30 s: missed)"
        rows.append(("1M import via HTTP < 60 s (aim 30)", f"{seconds:.1f} s", verdict(ok) + (note if ok else "")))
        rss = max(r["peak_process_mb"] for r in imports)
        private = max(r["peak_private_mb"] for r in imports)
        rows.append(("Import: server peak RSS < 300 MB (largest process)", f"{rss:.0f} MB ({private:.0f} MB private)",
                     verdict(rss < IMPORT_RSS_MB)))
    else:
        rows.append(("1M import via HTTP < 60 s (aim 30)", missing, "—"))
        rows.append(("Import: server peak RSS < 300 MB (largest process)", missing, "—"))

    scores = data.get("score_local", {}).get(key)
    if scores:
        seconds = median([r["seconds"] for r in scores])
        rows.append(("1M local scoring < 120 s", f"{seconds:.1f} s", verdict(seconds < SCORE_TARGET_S)))
    else:
        rows.append(("1M local scoring < 120 s", missing, "—"))

    openai = data.get("score_openai")
    if openai:
        rate = median([r["leads_per_s"] for r in openai["runs"]])
        standard = openai["latency_ms"] == 200 and openai["concurrency"] == 16
        if not standard:
            judged = "— (other latency/concurrency)"
        elif openai["leads"] < OPENAI_MIN_LEADS:
            judged = f"— (under {OPENAI_MIN_LEADS:,} leads the job's start-up time weighs too much to judge)"
        else:
            judged = verdict(rate >= OPENAI_TARGET)
        rows.append(("openai ≥ 60 leads/s at 200 ms & concurrency 16",
                     f"{rate:.1f} leads/s at {openai['latency_ms']:.0f} ms & {openai['concurrency']} "
                     f"({openai['leads']:,} leads)", judged))
    else:
        rows.append(("openai ≥ 60 leads/s at 200 ms & concurrency 16", "not measured", "—"))

    customs = data.get("custom_model", {})
    custom = customs.get(key)
    custom_target = f"Custom model (20 rules) scoring ≤ {CUSTOM_MODEL_RATIO}× the default model at 1M"
    if custom:
        ratio = median([r["ratio"] for r in custom])
        rows.append((custom_target, f"{ratio:.2f}× ({median([r['seconds'] for r in custom]):.1f} s vs "
                                    f"{median([r['default_seconds'] for r in custom]):.1f} s)",
                     verdict(ratio <= CUSTOM_MODEL_RATIO)))
    elif customs:
        top = max(customs, key=int)
        rows.append((custom_target, f"not measured at 1M (largest size {_size(int(top))}: "
                                    f"{median([r['ratio'] for r in customs[top]]):.2f}×)", "—"))
    else:
        rows.append((custom_target, "not measured", "—"))

    distributions = data.get("distribution", {})
    distribution = distributions.get(key)
    distribution_target = f"Distribution p95 < {DISTRIBUTION_P95_MS:.0f} ms at 1M"
    if distribution:
        wrong = _distribution_problems(distribution)
        measured = f"{distribution['p95_ms']:.1f} ms (p50 {distribution['p50_ms']:.1f})"
        if wrong:
            rows.append((distribution_target, f"{measured}; {wrong}", "❌ missed (wrong totals)"))
        else:
            rows.append((distribution_target, f"{measured}; total {distribution['total']:,} = leads scored",
                         verdict(distribution["p95_ms"] < DISTRIBUTION_P95_MS)))
    elif distributions:
        top = max(distributions, key=int)
        rows.append((distribution_target, f"not measured at 1M (largest size {_size(int(top))}: p95 "
                                          f"{distributions[top]['p95_ms']:.1f} ms)", "—"))
    else:
        rows.append((distribution_target, "not measured", "—"))

    results = data.get("results")
    search_target = f"Search page p95 < {SEARCH_P95_MS:.0f} ms at 1M ({SEARCH_QUERY}, first / deep page)"
    if results and results["leads"] >= TARGET_SIZE:
        first = [q for q in results["queries"] if q["page_number"] == 1]
        plain = next(q for q in first if q["query"] == "all")
        rows.append(("Results first page p95 < 100 ms at 1M", f"{plain['p95_ms']:.1f} ms",
                     verdict(plain["p95_ms"] < RESULTS_P95_MS)))
        worst = max((q for q in first if not q["query"].startswith("search=")), key=lambda q: q["p95_ms"])
        rows.append(("… with intent / min_score (worst first-page p95)",
                     f"{worst['p95_ms']:.1f} ms ({worst['query']})", verdict(worst["p95_ms"] < RESULTS_P95_MS)))
        pages = [q for q in results["queries"] if q["query"] == SEARCH_QUERY]
        if pages:
            rows.append((search_target, " / ".join(f"{q['p95_ms']:.1f} ms" for q in pages),
                         verdict(max(q["p95_ms"] for q in pages) < SEARCH_P95_MS)))
    else:
        size = f" (measured at {_size(results['leads'])})" if results else ""
        rows.append(("Results first page p95 < 100 ms at 1M", f"not measured at 1M{size}", "—"))
        pages = [q for q in results["queries"] if q["query"] == SEARCH_QUERY] if results else []
        rows.append((search_target, f"not measured at 1M{size}" + (
            ": " + " / ".join(f"{q['p95_ms']:.1f} ms" for q in pages) if pages else ""), "—"))

    board = data.get("dashboard")
    board_target = f"Dashboard top leads and lead page p95 < {DASHBOARD_P95_MS:.0f} ms at 1M (server time)"
    if board and board["leads"] >= TARGET_SIZE:
        # Search pages have their own target; the exact total past 10,000 leads is a second request
        # the page makes after it is shown (reported in the table, not a page).
        judged = [p for p in board["pages"] if not p["variant"].startswith(("search", "its exact total"))]
        worst = max(judged, key=lambda p: p["p95_ms"])
        rows.append((board_target, f"worst {worst['p95_ms']:.1f} ms ({worst['page']}, {worst['variant']})",
                     verdict(worst["p95_ms"] < DASHBOARD_P95_MS)))
    else:
        size = f" (measured at {_size(board['leads'])})" if board else ""
        rows.append((board_target, f"not measured at 1M{size}", "—"))

    rows += event_targets(data.get("events", {}))
    rows += learned_targets(data.get("learned", {}), data.get("xeducation"))
    rows += automation_targets(data.get("automations", {}))

    exports = data.get("export", {})
    export = exports.get(key)
    if export:
        seconds = median([r["seconds"] for r in export["runs"]])
        rows.append(("Export 1M < 30 s", f"{seconds:.1f} s", verdict(seconds < EXPORT_TARGET_S)))
        growth = max(r["growth_private_mb"] for r in export["runs"])
        late = max(r.get("late_growth_private_mb", r["growth_private_mb"]) for r in export["runs"])
        rows.append((f"Export: flat memory (private RSS grows < {EXPORT_FLAT_MB:.0f} MB after the first fifth)",
                     f"+{late:.0f} MB after the first fifth (+{growth:.0f} MB in all)", verdict(late < EXPORT_FLAT_MB)))
    else:
        rows.append(("Export 1M < 30 s", missing if exports else "not measured", "—"))
    return rows


def event_targets(runs_by_size: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Ingest rate at 1M leads with 10M events; the rescore's ratio to a plain scoring there."""
    ingest_target = f"Events: {EVENTS_TARGET_TOTAL:,} for 1M leads via HTTP ≥ {EVENTS_TARGET_PER_S:,.0f} events/s"
    rescore_target = f"Rescore of the leads events touched ≤ {EVENT_RESCORE_RATIO}× a plain rescore of as many"
    runs = runs_by_size.get(str(TARGET_SIZE))
    if runs and min(r["ingest"]["events"] for r in runs) >= EVENTS_TARGET_TOTAL:
        rate = median([r["ingest"]["events_per_s"] for r in runs])
        ratio = median([r["rescore"]["ratio"] for r in runs])
        folded = ("; " + f"{median([r['ingest']['folded_events_per_s'] for r in runs]):,.0f} events/s to the last "
                  "fold into the aggregates") if "folded_events_per_s" in runs[0]["ingest"] else ""
        p95 = median([r["ingest"]["p95_ms"] for r in runs])
        return [(ingest_target, f"{rate:,.0f} events/s accepted (p95 {p95:.0f} ms a request of 10,000{folded})",
                 "✅ met" if rate >= EVENTS_TARGET_PER_S else "❌ missed"),
                (rescore_target, f"{ratio:.2f}× ({median([r['rescore']['seconds'] for r in runs]):.1f} s for "
                                 f"{runs[0]['rescore']['rescored']:,} scores)",
                 "✅ met" if ratio <= EVENT_RESCORE_RATIO else "❌ missed")]
    if not runs_by_size:
        return [(ingest_target, "not measured", "—"), (rescore_target, "not measured", "—")]
    top = max(runs_by_size, key=int)
    runs = runs_by_size[top]
    where = f"{_size(int(top))} leads, {runs[0]['ingest']['events']:,} events"
    return [(ingest_target, f"not measured at 1M / 10M ({where}: "
                            f"{median([r['ingest']['events_per_s'] for r in runs]):,.0f} events/s)", "—"),
            (rescore_target, f"not measured at 1M ({where}: "
                             f"{median([r['rescore']['ratio'] for r in runs]):.2f}×)", "—")]


def _events_section(runs_by_size: dict[str, Any]) -> list[str]:
    out = ["", "## Events — POST /api/events/ (10,000 a request), then the rescore of the leads they touched", ""]
    rows = []
    for key in sorted(runs_by_size, key=int):
        runs = runs_by_size[key]
        ingest = [r["ingest"] for r in runs]
        rescore = [r["rescore"] for r in runs]
        rows.append([_size(int(key)), str(len(runs)), f"{ingest[0]['events']:,}", str(ingest[0]["clients"]),
                     spread([r["seconds"] for r in ingest]), spread([r["events_per_s"] for r in ingest], 0),
                     spread([r["p50_ms"] for r in ingest], 0), spread([r["p95_ms"] for r in ingest], 0),
                     spread([r["folded_after_s"] for r in ingest], 1) if "folded_after_s" in ingest[0] else "—",
                     spread([r["folded_events_per_s"] for r in ingest], 0) if "folded_after_s" in ingest[0] else "—",
                     f"{ingest[0]['duplicates']:,}", f"{ingest[0]['touched_leads']:,}",
                     spread([r["peak_process_mb"] for r in ingest], 0),
                     spread([r["seconds"] for r in rescore]), spread([r["plain_seconds"] for r in rescore]),
                     spread([r["ratio"] for r in rescore], 2),
                     spread([r.get("first_scoring_ratio", r["ratio"]) for r in rescore], 2)])
    out += _table(["leads", "runs", "events", "clients", "seconds", "events/s", "request p50 ms", "request p95 ms",
                   "all folded after s", "events/s to the last fold", "duplicates", "leads touched", "peak RSS MB",
                   "rescore s", "plain rescore s",
                   "rescore ÷ plain", "rescore ÷ first scoring"], rows)
    out.append("")
    out.append("Events are written by the client as request bodies of 10,000, to files before the clock starts "
               "(three in four name their lead by id, "
               "one in four by email; 13 types; times over the last 90 days; 90 % with an external_id; 1 % exact "
               "resends of a recent event, which must come back as duplicates, every other event accepted, none "
               "rejected), sent from the client threads shown. *Seconds* and *events/s*: from the first request to "
               "the last answer. *All folded after s*: from the last answer until the worker had folded every "
               "accepted event into the leads' aggregates (no event pending; the fold runs during the ingest, as it "
               "would in production); *events/s to the last fold* counts that time in. The debounced rescore is held "
               "off during the phase "
               "(ENGAGEMENT_RESCORE_DELAY_SECONDS=86400) so the ingest is timed alone; then `POST "
               "/api/leads/refresh/` starts the same runs the debounced task starts (one per offer, over its stale "
               "scores) and *rescore s* lasts until every run finished. *Plain rescore s*: then every lead of the "
               "bench offer scored again (`POST /api/leads/score/ {\"rescore\": true}`), per score, times the "
               "scores rescored (with a second offer whose model costs more, such as the learned phase's, this "
               "yardstick is the cheaper model's). Each of the two timed runs starts with no written page pending "
               "(`sync`) and the database files read once into the page cache, so neither pays for the ingest's "
               "writeback nor finds the pages the other read. *Rescore ÷ first scoring*: against the `score` "
               "phase's first scoring of every lead instead, which only inserts rows where a rescore also retires "
               "the old one.")
    return out


def learned_targets(learned: dict[str, Any], xed: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    train_target = f"Training on {TRAIN_TARGET_OUTCOMES:,} outcomes < {TRAIN_TARGET_S:.0f} s (request → job finished)"
    ratio_target = f"Scoring with the learned part (weight 30) ≤ {LEARNED_RATIO}× the default model at 1M"
    xed_target = "X Education: the product's cross-validated AUC ≥ a plain scikit-learn logistic regression's"
    rows: list[tuple[str, str, str]] = []
    if learned:
        full = [k for k, runs in learned.items() if runs[0]["outcomes"]["outcomes"] >= TRAIN_TARGET_OUTCOMES]
        if full:
            runs = learned[min(full, key=int)]
            seconds = median([r["training"]["seconds"] for r in runs])
            rows.append((train_target, f"{seconds:.1f} s ({runs[0]['outcomes']['outcomes']:,} outcomes, cv AUC "
                                       f"{median([r['training']['cv_auc'] for r in runs]):.3f})",
                         "✅ met" if seconds < TRAIN_TARGET_S else "❌ missed"))
        else:
            top = max(learned, key=int)
            runs = learned[top]
            rows.append((train_target, f"not measured at {TRAIN_TARGET_OUTCOMES:,} (largest: "
                                       f"{runs[0]['outcomes']['outcomes']:,} outcomes in "
                                       f"{median([r['training']['seconds'] for r in runs]):.1f} s)", "—"))
        at_target = learned.get(str(TARGET_SIZE))
        if at_target:
            ratio = median([r["ratio"] for r in at_target])
            rows.append((ratio_target, f"{ratio:.2f}× ({median([r['score']['seconds'] for r in at_target]):.1f} s vs "
                                       f"{median([r['default_seconds'] for r in at_target]):.1f} s)",
                         "✅ met" if ratio <= LEARNED_RATIO else "❌ missed"))
        else:
            top = max(learned, key=int)
            rows.append((ratio_target, f"not measured at 1M (largest size {_size(int(top))}: "
                                       f"{median([r['ratio'] for r in learned[top]]):.2f}×)", "—"))
    else:
        rows += [(train_target, "not measured", "—"), (ratio_target, "not measured", "—")]
    if xed and not xed.get("skipped"):
        product, baseline = xed["training"]["cv_auc"], xed["baseline"]["cv_auc"]
        rows.append((xed_target, f"{product:.4f} vs {baseline:.4f} (rules alone: backtest AUC "
                                 f"{xed['backtest']['auc']:.3f})", "✅ met" if product >= baseline else "❌ missed"))
    else:
        rows.append((xed_target, xed["skipped"] if xed else "not measured", "—"))
    return rows


def _burst_size(automations: dict[str, Any]) -> str | None:
    """The largest size whose runs had the full burst (target_crossings == AUTOMATION_BURST), if any."""
    full = [k for k, runs in automations.items() if runs and all(r["target_crossings"] >= AUTOMATION_BURST
                                                                  for r in runs)]
    return max(full, key=int) if full else None


def _seconds(cell: str) -> str:
    """'4.1 (3.9–4.4)' -> '4.1 s (3.9–4.4)'."""
    head, sep, tail = cell.partition(" (")
    return f"{head} s{sep}{tail}"


def _delivery_ok(runs: list[dict[str, Any]]) -> bool:
    """Every crossing delivered, none twice, every signature good, in every run."""
    return all(r["complete"] and r["duplicates"] == 0 and r["bad_signatures"] == 0 and r["unexpected"] == 0
               for r in runs)


def _delivery_cell(runs: list[dict[str, Any]]) -> str:
    seconds = [r["seconds"] for r in runs if r["seconds"] is not None]
    delivered = ", ".join(f"{r['delivered']:,}/{r['crossings']:,}" for r in runs)
    dupes = sum(r["duplicates"] for r in runs)
    complete = bool(seconds) and len(seconds) == len(runs)
    text = _seconds(spread(seconds)) if complete else f"not all delivered ({delivered})"
    return f"{text}; {dupes} duplicate{'s' if dupes != 1 else ''}"


def automation_targets(automations: dict[str, Any]) -> list[tuple[str, str, str]]:
    ratio_target = f"Scoring with a workflow active ≤ {AUTOMATION_RATIO:.2f}× the same scoring without (≤ 10 % slower)"
    burst_target = (f"{AUTOMATION_BURST:,} crossings at once delivered within {AUTOMATION_DELIVERY_S:.0f} s of the "
                    "job's end, none twice")
    if not automations:
        return [(ratio_target, "not measured", "—"), (burst_target, "not measured", "—")]
    key = _burst_size(automations)
    if key is None:
        top = max(automations, key=int)
        runs = automations[top]
        crossings = median([r["crossings"] for r in runs])
        note = f"not measured at {AUTOMATION_BURST:,} crossings (largest size {_size(int(top))}, "
        return [(ratio_target, note + f"{median([r['ratio'] for r in runs]):.2f}×)", "—"),
                (burst_target, note + f"{crossings:,.0f} crossings: {_delivery_cell(runs)})", "—")]
    runs = automations[key]
    ratio = median([r["ratio"] for r in runs])
    rows = [(ratio_target, f"{ratio:.2f}× at {_size(int(key))} ({median([r['workflow_seconds'] for r in runs]):.1f} s "
                           f"vs {median([r['control_mean_seconds'] for r in runs]):.1f} s)",
             "✅ met" if ratio <= AUTOMATION_RATIO else "❌ missed")]
    seconds = [r["seconds"] for r in runs if r["seconds"] is not None]
    ok = _delivery_ok(runs) and len(seconds) == len(runs) and max(seconds) <= AUTOMATION_DELIVERY_S
    crossings = median([r["crossings"] for r in runs])
    rows.append((burst_target, f"{crossings:,.0f} crossings at {_size(int(key))}: {_delivery_cell(runs)}, "
                               f"slowest run {max(seconds) if seconds else float('nan'):.1f} s",
                 "✅ met" if ok else "❌ missed"))
    return rows


def _distribution_problems(distribution: dict[str, Any]) -> str:
    """'' when every distribution answer added up, else what was wrong (for the targets and the table)."""
    problems = []
    for label, check in (("", distribution), ("custom-model offer: ", distribution.get("custom_offer"))):
        if not check:
            continue
        if not check["total_ok"]:
            seen = check.get("totals_seen") or [check["total"]]
            problems.append(f"{label}total {', '.join(str(t) for t in seen)} ≠ {check['expected_total']:,} scored")
        elif not check["parts_add_up"]:
            sums = " / ".join(f"{part} {n:,}" for part, n in check["sums"].items())
            problems.append(f"{label}{sums} ≠ total {check['total']}")
    return "; ".join(problems)


# --- markdown ----------------------------------------------------------------------------------


def _rule_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return f"`{value}`" if isinstance(value, str) else str(value)


COUNT_BOUND_NOTE = ("¹ The page answered `count_exact: false`: a search whose count is costly counts its rows up "
                    "to 1,000 (`count` a lower bound); the whole count shown here came from one unmeasured "
                    "`count=exact` request, which placed the deep page.")


def _matches(query: dict[str, Any]) -> str:
    return f"{query['count']:,}" + ("" if query.get("count_exact", True) else " ¹")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    config = data["config"]
    out = ["# Leadscore benchmarks", ""]
    mode = "quick (`make bench-quick`)" if config["quick"] else "full (`make bench`)"
    out.append(f"Mode: {mode}, started {data['started_at']}, took {data.get('total_seconds', 0) / 60:.1f} min.")
    out.append(f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB RAM, {m['os']}; Python {m['python']}, "
               f"Django {m['django']}, SQLite {m['sqlite']}; database: {m['database']}; commit `{m['commit']}`; "
               f"load average {m.get('load_average_at_start', '?')} at the start "
               "(other work on the machine skews figures).")
    if data.get("commands"):
        source = "from the Makefile's `run` target" if data["commands"].get("from_makefile") == "yes" \
            else "built-in copy of `make run`'s commands (the Makefile was not understood)"
        out.append(f"Server ({source}): `gunicorn {data['commands']['web']}` + "
                   f"`celery {data['commands']['worker']}`, "
                   f"DEBUG={1 if config.get('debug', True) else 0}, "
                   "a fresh temporary DATA_DIR per run, everything on 127.0.0.1.")
    out.append("Figures: median (min–max) of the runs shown; times are wall-clock as the HTTP client sees them. "
               "RSS is the largest single server process (its peak), or the sum of all of them (peak total); "
               "private RSS leaves out shared pages (mapped files, code shared after fork).")
    if data.get("error"):
        out += ["", f"**The run stopped early: {data['error']}** — the tables hold what was measured before."]
    out += ["", "## Targets", ""]
    out += _table(["target", "measured", "verdict"], [list(row) for row in targets(data)])

    if data.get("import"):
        out += ["", "## Import — POST /api/leads/upload/ until the job finishes", ""]
        rows = []
        for key in sorted(data["import"], key=int):
            runs = data["import"][key]
            floor = data.get("import_floor", {}).get(key, [])
            ratio = (median([r["seconds"] for r in runs]) / median([f["seconds"] for f in floor])) if floor else None
            rows.append([_size(int(key)), str(len(runs)), spread([r["seconds"] for r in runs]),
                         spread([r["rows_per_s"] for r in runs], 0),
                         spread([f["seconds"] for f in floor]) if floor else "—",
                         spread([f["rows_per_s"] for f in floor], 0) if floor else "—",
                         f"{ratio:.1f}×" if ratio else "—",
                         spread([r["peak_process_mb"] for r in runs], 0),
                         spread([r["peak_private_mb"] for r in runs], 0),
                         spread([r["peak_total_mb"] for r in runs], 0)])
        out += _table(["leads", "runs", "seconds", "rows/s", "floor s", "floor rows/s", "× floor",
                       "peak RSS MB", "peak private MB", "peak total RSS MB"], rows)
        out.append("")
        hwm = data.get("hwm", {})
        if hwm:
            out.append("Kernel high-water mark (VmHWM) of the largest server process over each whole run (import, "
                       "scoring with both models, export, results, distribution): " + "; ".join(
                           f"{_size(int(k))}: {spread([h['mb'] for h in hwm[k]], 0)} MB" for k in sorted(hwm, key=int))
                       + ".")
            out.append("")
        out.append("Floor: csv.reader + sqlite3 `executemany` of the same rows and columns into a table with the same "
                   f"indexes and PRAGMAs, {server_batch_size():,} rows a transaction (IMPORT_BATCH_SIZE), "
                   "no validation or dedupe.")

    if data.get("score_local"):
        out += ["", "## Scoring, local provider — POST /api/leads/score/ until the job finishes", ""]
        rows = []
        for key in sorted(data["score_local"], key=int):
            runs = data["score_local"][key]
            rows.append([_size(int(key)), str(len(runs)), spread([r["seconds"] for r in runs]),
                         spread([r["leads_per_s"] for r in runs], 0),
                         spread([r["peak_process_mb"] for r in runs], 0),
                         spread([r["peak_private_mb"] for r in runs], 0),
                         spread([r["peak_total_mb"] for r in runs], 0)])
        out += _table(["leads", "runs", "seconds", "leads/s", "peak RSS MB", "peak private MB", "peak total RSS MB"],
                      rows)

    customs = data.get("custom_model", {})
    if customs:
        out += ["", "## Scoring with a custom model — 20 rules vs the default model, POST /api/leads/score/", ""]
        rows = []
        for key in sorted(customs, key=int):
            runs = customs[key]
            ratio = median([r["ratio"] for r in runs])
            if int(key) == TARGET_SIZE:
                judged = "✅ met" if ratio <= CUSTOM_MODEL_RATIO else "❌ missed"
            else:
                judged = f"— (judged at 1M; here {'within' if ratio <= CUSTOM_MODEL_RATIO else 'over'})"
            rows.append([_size(int(key)), str(len(runs)), spread([r["default_seconds"] for r in runs]),
                         spread([r["default_leads_per_s"] for r in runs], 0), spread([r["seconds"] for r in runs]),
                         spread([r["leads_per_s"] for r in runs], 0),
                         spread([r["ratio"] for r in runs], 2).replace(" (", "× (", 1), judged,
                         spread([r["peak_process_mb"] for r in runs], 0)])
        out += _table(["leads", "runs", "default model s", "default leads/s", "custom model s", "custom leads/s",
                       "custom ÷ default", f"target ≤ {CUSTOM_MODEL_RATIO}×", "custom peak RSS MB"], rows)
        spec = data.get("custom_model_rules")
        out.append("")
        out.append("Both runs score the same leads on the same stack, timed the same way (POST, then poll the job): "
                   "first the bench offer with the workspace's default model (the scoring table above), then a new "
                   "offer with the same fields whose `scoring_model` is the custom one (so it runs second, beside "
                   "the first offer's scores). *custom ÷ default* is the median of the runs' own ratios.")
        if spec:
            rules = "; ".join(f"{r['name']} ({r['field_name']} {r['operator']} {_rule_value(r['value'])}, "
                              f"{r['points']:+d})" for r in spec["added"])
            out.append("")
            out.append(f"Model: a copy of the `{spec['template']}` template (AI layer on, its "
                       f"{spec['template_rules']} rules: role level, industry fit, complete profile) plus "
                       f"{len(spec['added'])} rules: {rules}.")

    classifier = data.get("classifier")
    if classifier:
        out += ["", "## Local classifier alone — LocalIntentProvider.classify_many, one process, cold caches", ""]
        rows = []
        for key in sorted(classifier, key=int):
            runs = classifier[key]
            rows.append([_size(int(key)), str(len(runs)), spread([r["seconds"] for r in runs], 2),
                         spread([r["leads_per_s"] for r in runs], 0), spread([r["us_per_lead"] for r in runs], 1),
                         spread([r["cpu_us_per_lead"] for r in runs], 1) if "cpu_us_per_lead" in runs[0] else "—"])
        out += _table(["leads", "runs", "seconds", "leads/s", "µs a lead", "CPU µs a lead"], rows)
        out.append("")
        out.append("The generated leads against the bench offer, in a fresh interpreter per run (`python -m "
                   "bench.classifier --once N`): no server, database or job, only the AI layer's verdicts and "
                   "reasoning. *CPU µs a lead* is the process's CPU time: the figure to compare between runs on "
                   "a shared machine, where other work stretches the wall clock.")

    openai = data.get("score_openai")
    if openai:
        out += ["", "## Scoring, openai provider — against leads.tests.llm_server on 127.0.0.1", ""]
        runs = openai["runs"]
        rate = median([r["leads_per_s"] for r in runs]) or 0
        out += _table(
            ["leads", "runs", "latency", "concurrency", "seconds", "leads/s", "ceiling", "of ceiling",
             "requests/lead", "prompt tokens/lead"],
            [[f"{openai['leads']:,}", str(len(runs)), f"{openai['latency_ms']:.0f} ms", str(openai["concurrency"]),
              spread([r["seconds"] for r in runs]), spread([r["leads_per_s"] for r in runs]),
              f"{openai['ceiling_leads_per_s']:.0f}/s", f"{rate / openai['ceiling_leads_per_s']:.0%}",
              spread([r["requests_per_lead"] for r in runs], 2),
              spread([r["prompt_tokens_per_lead"] for r in runs], 0)]])
        out.append("")
        out.append("Ceiling: concurrency ÷ latency, the most a provider holding that many requests in flight can do. "
                   "Each run scores against a new offer, so the verdict cache answers nothing.")

    results = data.get("results")
    if results:
        title = f"## Results — GET /api/leads/results/ at {_size(results['leads'])} scored leads (page_size 50)"
        out += ["", title, ""]
        rows = [[q["query"], q["page"], _matches(q), str(q["requests"]), _num(q["p50_ms"], 1),
                 _num(q["p95_ms"], 1)] for q in results["queries"]]
        out += _table(["filter", "page", "matches", "requests", "p50 ms", "p95 ms"], rows)
        if any(not q.get("count_exact", True) for q in results["queries"]):
            out += ["", COUNT_BOUND_NOTE]
        if "idle_wait_seconds" in results:
            out += ["", f"Timed once the worker had no task left from the scoring (it waited "
                        f"{results['idle_wait_seconds']:.1f} s for that); the dashboard pages too."]
        memory = results.get("memory")
        if memory:
            out.append("")
            out.append("Memory over these requests: the largest server process peaked at "
                       f"{memory['peak_process_mb']:,.0f} MB RSS ({memory['peak_private_mb']:,.0f} MB private); "
                       f"the most one process grew: {memory['growth_private_mb']:,.0f} MB private.")

    board = data.get("dashboard")
    if board:
        out += ["", f"## Dashboard — server time of /app/ pages at {_size(board['leads'])} scored leads", ""]
        rows = [[p["page"], p["variant"], str(p["requests"]), _num(p["p50_ms"], 1), _num(p["p95_ms"], 1),
                 _num(p["client_p95_ms"], 1)] for p in board["pages"]]
        out += _table(["page", "variant", "requests", "p50 ms", "p95 ms", "client p95 ms"], rows)
        out.append("")
        out.append("Server time is the request middleware's `Server-Timing` (Django's own time); the search "
                   "variants go through the search index (see the search section). Filtered by the score alone, "
                   "the page's exact total comes from the score tally, inside the page's time; past 10,000 "
                   "leads a view the tally can't count asks for it in a second request once shown (*its "
                   "exact total*, when a variant does), which the page's own time does not include.")
    out += _search_section(data)

    distributions = data.get("distribution", {})
    if distributions:
        out += ["", "## Distribution — GET /api/lead-scores/distribution/?offer=<id> after scoring", ""]
        rows = []
        for key in sorted(distributions, key=int):
            d = distributions[key]
            wrong = _distribution_problems(d)
            if int(key) == TARGET_SIZE:
                judged = "❌ missed (wrong totals)" if wrong else (
                    "✅ met" if d["p95_ms"] < DISTRIBUTION_P95_MS else "❌ missed")
            else:
                judged = "not measured at this size (judged at 1M)"
            total = f"{d['total']:,}" if isinstance(d["total"], int) else str(d["total"])
            check = "✅ = leads scored" if not wrong else f"❌ {wrong}"
            intents = d.get("intents") or {}
            custom = d.get("custom_offer")
            custom_cell = (f"{custom['total']:,}, average {custom['average']}" if custom and
                           isinstance(custom["total"], int) else "—")
            rows.append([_size(int(key)), str(d["requests"]), _num(d["p50_ms"], 1), _num(d["p95_ms"], 1),
                         _num(d["max_ms"], 1), total, check, str(d["average"]),
                         " / ".join(f"{intents.get(k, 0):,}" for k in ("High", "Medium", "Low")), custom_cell,
                         judged])
        out += _table(["leads", "requests", "p50 ms", "p95 ms", "max ms", "total", "total check", "average",
                       "High / Medium / Low", "custom-model offer: total, average",
                       f"target p95 < {DISTRIBUTION_P95_MS:.0f} ms"], rows)
        out.append("")
        out.append("The bench offer's distribution (default model), measured on the first run of each size after "
                   "both scoring runs: one warm-up, then the requests shown. Every answer's `total` is checked "
                   "against the leads scored, and its buckets, intents and stages must each add up to it; the "
                   "custom-model offer's distribution is fetched once and checked the same way.")

    if data.get("events"):
        out += _events_section(data["events"])

    learned = data.get("learned", {})
    if learned:
        out += _learned_section(learned)
    xed = data.get("xeducation")
    if xed:
        out += _xeducation_section(xed)

    automations = data.get("automations", {})
    if automations:
        out += _automations_section(automations)

    exports = data.get("export", {})
    if exports:
        out += ["", "## Export — GET /api/leads/export_csv/, streamed, read and parsed as it arrives", ""]
        rows = []
        for key in sorted(exports, key=int):
            runs, floor = exports[key]["runs"], exports[key]["floor"]
            ratio = median([r["seconds"] for r in runs]) / median([f["seconds"] for f in floor]) if floor else None
            rows.append([_size(int(key)), str(len(runs)), spread([r["seconds"] for r in runs]),
                         spread([r["rows_per_s"] for r in runs], 0), _num(runs[0]["bytes"] / 1e6, 0),
                         spread([f["seconds"] for f in floor]) if floor else "—",
                         spread([f["rows_per_s"] for f in floor], 0) if floor else "—",
                         f"{ratio:.1f}×" if ratio else "—", spread([r["peak_process_mb"] for r in runs], 0),
                         spread([r["growth_mb"] for r in runs], 0), spread([r["growth_private_mb"] for r in runs], 0),
                         spread([r.get("late_growth_private_mb", 0) for r in runs], 0)])
        out += _table(["rows", "runs", "seconds", "rows/s", "MB", "floor s", "floor rows/s", "× floor", "peak RSS MB",
                       "RSS growth MB", "private growth MB", "… after first fifth MB"], rows)
        out.append("")
        out.append("Floor: csv.writer over a raw sqlite3 cursor on the server's database, same join, filter and order. "
                   "Growth: the most any one server process grew during the request, in RSS and in private RSS "
                   "(RSS without shared pages: mapped files, code shared after fork); *after first fifth*: how much "
                   "more it grew after the first fifth of the stream — flat memory means ~0 there, whatever the size.")
    return "\n".join(out) + "\n"


def _search_section(data: dict[str, Any]) -> list[str]:
    """The lead list's search latency and what the search index costs the import."""
    out: list[str] = []
    lead_search = data.get("lead_search")
    if lead_search:
        out += ["", f"## Lead search — GET /api/leads/?search= at {_size(lead_search['leads'])} leads "
                    "(newest first, page_size 50)", ""]
        out += _table(["search", "page", "matches", "requests", "p50 ms", "p95 ms"], [
            [q["query"], q["page"], _matches(q), str(q["requests"]), _num(q["p50_ms"], 1),
             _num(q["p95_ms"], 1)] for q in lead_search["queries"]])
        if any(not q.get("count_exact", True) for q in lead_search["queries"]):
            out += ["", COUNT_BOUND_NOTE]
    without = data.get("import_no_search_index", {})
    if without:
        out += ["", "## Search index — what it costs the import", ""]
        rows = []
        for key in sorted(without, key=int):
            indexed, plain = data.get("import", {}).get(key, []), without[key]
            with_s, without_s = median([r["seconds"] for r in indexed]), median([r["seconds"] for r in plain])
            rows.append([_size(int(key)), str(len(plain)), spread([r["seconds"] for r in indexed]),
                         spread([r["seconds"] for r in plain]),
                         f"{with_s / without_s:.2f}×" if with_s and without_s else "—",
                         spread([r["db_bytes"] / 2**20 for r in indexed if "db_bytes" in r], 0),
                         spread([r["db_bytes"] / 2**20 for r in plain], 0),
                         spread([r["search_index_bytes"] / 2**20 for r in indexed if "search_index_bytes" in r], 0)])
        out += _table(["leads", "runs", "import s, with the index", "import s, without", "with ÷ without",
                       "database MB, with", "database MB, without", "of which the index MB"], rows)
        out.append("")
        out.append("Each run imports the same CSV twice through the API, each time into a fresh stack: the run's own "
                   "stack (its database has the search index: the FTS5 table and the triggers that keep it) and "
                   "a second stack whose database had the index dropped after migrate. Database sizes are "
                   "page_count × page_size right after the import; the index's share comes from `dbstat`.")
    return out


def _automations_section(automations: dict[str, Any]) -> list[str]:
    out = ["", "## Automations — a score_threshold webhook workflow: scoring with it, and delivering the crossings",
           ""]
    burst = _burst_size(automations)
    rows = []
    for key in sorted(automations, key=int):
        runs = automations[key]
        ratio = median([r["ratio"] for r in runs])
        if key == burst:
            judged = "✅ met" if ratio <= AUTOMATION_RATIO else "❌ missed"
        else:
            here = "within" if ratio <= AUTOMATION_RATIO else "over"
            judged = f"— (judged at {AUTOMATION_BURST:,} crossings; here {here})"
        rows.append([_size(int(key)), str(len(runs)), ", ".join(sorted({str(r["threshold"]) for r in runs})),
                     spread([r["crossings"] for r in runs], 0), spread([r["control_seconds"] for r in runs]),
                     spread([r["workflow_seconds"] for r in runs]), spread([r["control_after_seconds"] for r in runs]),
                     spread([r["ratio"] for r in runs], 2).replace(" (", "× (", 1),
                     spread([r["ratio_vs_first_control"] for r in runs], 2).replace(" (", "× (", 1),
                     spread([r.get("job_ratio") for r in runs], 2).replace(" (", "× (", 1), judged])
    out += _table(["leads", "runs", "threshold", "crossings", "control s", "with workflow s", "control after s",
                   "workflow ÷ controls", "÷ first control", "job time ÷ controls' job time",
                   f"target ≤ {AUTOMATION_RATIO:.2f}×"], rows)
    out += ["", "Delivery: from the scoring job's `finished_at` until the receiver had seen every crossing.", ""]
    rows = []
    for key in sorted(automations, key=int):
        runs = automations[key]
        seconds = [r["seconds"] for r in runs if r["seconds"] is not None]
        if key == burst:
            ok = _delivery_ok(runs) and len(seconds) == len(runs) and max(seconds) <= AUTOMATION_DELIVERY_S
            judged = "✅ met" if ok else "❌ missed"
        else:
            judged = f"— (judged at {AUTOMATION_BURST:,} crossings)"
        executions = "; ".join(f"{r['executions'].get('succeeded')}/{r['executions'].get('failed')}/"
                               f"{r['executions'].get('pending')}" for r in runs)
        log_errors = sum(r["worker_log"].get("errors") or 0 for r in runs)
        tracebacks = sum(r["worker_log"].get("tracebacks") or 0 for r in runs)
        rows.append([_size(int(key)), str(len(runs)), spread([r["crossings"] for r in runs], 0),
                     ", ".join(f"{r['delivered']:,}" for r in runs),
                     str(sum(r["duplicates"] for r in runs)), str(sum(r["missing"] + r["unexpected"] for r in runs)),
                     str(sum(r["bad_signatures"] for r in runs)),
                     spread(seconds) if len(seconds) == len(runs) else f"incomplete ({spread(seconds)})",
                     spread([r["first_after_job_s"] for r in runs]), spread([r["rate_per_s"] for r in runs], 0),
                     executions, f"{log_errors} / {tracebacks}", judged])
    out += _table(["leads", "runs", "crossings", "delivered (distinct ids)", "duplicates", "missing + unexpected",
                   "bad signatures", "seconds after job end", "first after job end s", "deliveries/s",
                   "executions ok/failed/pending", "worker errors / tracebacks",
                   f"target ≤ {AUTOMATION_DELIVERY_S:.0f} s, none twice"], rows)
    out.append("")
    out.append("Each run: three offers with the bench offer's fields on the same stack. The first (control, no "
               "workflow) is scored, and the threshold is the score whose count at or above it (results API, "
               f"`min_score`) is closest to a tenth of the leads, at most {AUTOMATION_BURST:,}. A score_threshold "
               "workflow with that threshold and a webhook to a receiver process (127.0.0.1; the stack "
               "runs with WEBHOOK_ALLOW_PRIVATE=1) is bound to the second offer, which is scored next: each lead's "
               "first score at or above the threshold crosses it. The third (control after) is scored once every "
               "delivery is in and the workflow is switched off (no outbox is written without an active one), "
               "so *workflow ÷ controls* divides by the mean of a run before and one "
               "after (the scores table grows with every offer scored); *÷ first control* is the plain ratio; "
               "*job time* compares the jobs' own `created_at`–`finished_at` the same way (no client polling in it). "
               "Each scoring starts from an idle worker (the outbox drained, the broker's queue empty for 0.5 s). "
               "Crossings are counted from the results API for the workflow's offer. The receiver verifies every "
               "request's Standard Webhooks signature and counts a request whose `webhook-id` it saw before as a "
               "duplicate; it listens 5 s more after the last crossing arrives. *Deliveries/s*: distinct ids over "
               "the time from the first to the last; the first can arrive before the job ends (a negative *first "
               "after job end*). *Executions* are the workflow statistics (succeeded / failed / pending) after the "
               "deliveries; *worker errors* are ERROR lines and tracebacks the worker logged during the phase.")
    return out


def _factors(factors: list[dict[str, Any]], n: int = 5) -> str:
    return "; ".join(f"{f['feature']} = {f['value']} ({f['effect']:+.2f})" for f in factors[:n])


def _learned_section(learned: dict[str, Any]) -> list[str]:
    out = ["", "## Learned model — outcomes with a known signal, training, and scoring with the learned part", ""]
    rows = []
    for key in sorted(learned, key=int):
        runs = learned[key]
        n = runs[0]["outcomes"]["outcomes"]
        train = [r["training"]["seconds"] for r in runs]
        if n >= TRAIN_TARGET_OUTCOMES:
            train_judged = "✅ met" if median(train) < TRAIN_TARGET_S else "❌ missed"
        else:
            train_judged = f"— (judged at {TRAIN_TARGET_OUTCOMES:,})"
        ratio = median([r["ratio"] for r in runs])
        if int(key) == TARGET_SIZE:
            ratio_judged = "✅ met" if ratio <= LEARNED_RATIO else "❌ missed"
        else:
            ratio_judged = f"— (judged at 1M; here {'within' if ratio <= LEARNED_RATIO else 'over'})"
        won = runs[0]["outcomes"]["won"]
        rows.append([_size(int(key)), str(len(runs)), f"{n:,} ({won / n:.0%} won)",
                     _seconds(spread([r["outcomes"]["seconds"] for r in runs])),
                     _seconds(spread(train)), _seconds(spread([r["training"]["run_seconds"] for r in runs])),
                     train_judged, spread([r["training"]["cv_auc"] for r in runs], 3),
                     spread([r["training"]["holdout_auc"] for r in runs], 3), f"{runs[0]['signal_auc']:.3f}",
                     spread([r["default_seconds"] for r in runs]), spread([r["score"]["seconds"] for r in runs]),
                     spread([r["ratio"] for r in runs], 2).replace(" (", "× (", 1),
                     spread([r.get("job_ratio") for r in runs], 2).replace(" (", "× (", 1), ratio_judged])
    out += _table(["leads", "runs", "outcomes", "record s", "train s", "job run s",
                   f"target < {TRAIN_TARGET_S:.0f} s", "cv AUC", "hold-out AUC", "signal's own AUC",
                   "default model s", "learned part s", "learned ÷ default", "job time ÷ default's",
                   f"target ≤ {LEARNED_RATIO}×"], rows)
    out.append("")
    out.append("Each run, after the default-model scoring (and the custom model, when it runs): outcomes for the "
               f"first min(leads, {TRAIN_TARGET_OUTCOMES:,}) generated leads, by email, in lists of 10,000 "
               "(`POST /api/outcomes/`; *record s* is all of them). Who won is known by construction "
               "(`bench/generate.py`, `outcome_logit`): log-odds from the lead's own fields — Lead Source "
               "referral or webinar +1.5, a software industry +0.8, a buying word in the bio (hiring, automat…, "
               "evaluating) +1.0, a student / retired / job seeker bio −1.5, a senior title +0.6, base −1.4 — "
               "then a seeded coin toss with that probability. *Signal's own AUC* ranks the leads by those "
               "log-odds: the best any model can reach on these coin tosses. *Train s*: `POST /api/models/train/` "
               "until `GET /api/jobs/{id}/` says finished (the request waits up to the wait budget, then 202); "
               "*job run s*: the job's `started_at`–`finished_at`. The trained model's `n_won` + `n_lost` must be "
               "the outcomes recorded. Then a scoring model from the `default` template with `learned_weight` 30 "
               "(`POST /api/scoring-models/`), a new offer with the bench offer's fields on it, and every lead "
               "scored for that offer, timed exactly as the default-model run (POST, then poll); its first 50 "
               "results must each carry a `conversion_probability` and the breakdown's learned component. "
               "*Learned ÷ default* is the median of the runs' own ratios; *job time* uses the jobs' "
               "`created_at`–`finished_at` (no client polling).")
    first = learned[max(learned, key=int)][0]
    check = first["check"]
    out.append("")
    out.append(f"Top factors at {_size(int(max(learned, key=int)))} (run 1, `GET /api/models/{{id}}/`): "
               f"{_factors(first['training']['top_factors'])}. Learned part on the first results: blend "
               f"{check['blend']}, probabilities {check['probability_min']:.2f}–{check['probability_max']:.2f}, "
               f"at most {check['learned_points_max']} points.")
    return out


def _xeducation_section(xed: dict[str, Any]) -> list[str]:
    out = ["", "## X Education — 9,240 real leads with their outcome: the learned model, a plain baseline, "
           "the rules", ""]
    if xed.get("skipped"):
        return out + [xed["skipped"].capitalize() + "."]
    training, baseline, rules, prepared = xed["training"], xed["baseline"], xed["backtest"], xed["prepared"]
    folds = "the same folds (leads in file order)" if xed["same_folds"] else \
        "the same fold seed, but the leads' id order differs from the file's: not the same folds"
    out += _table(
        ["", "cross-validated AUC (5 folds)", "folds", "hold-out AUC (20 %)", "how"],
        [["**Leadscore learned model**", f"**{training['cv_auc']:.4f}**",
          ", ".join(f"{a:.3f}" for a in training["cv_folds"]), f"{training['holdout_auc']:.3f}",
          f"`POST /api/models/train/` on the uploaded leads, {training['seconds']:.1f} s"],
         *([["the product's training, nested (nothing chosen on the fold it is judged on)",
             f"{xed['nested']['cv_auc']:.4f}", ", ".join(f"{a:.3f}" for a in xed["nested"]["cv_folds"]), "—",
             "in the bench's process: `fit_learned_model` on 4 folds (its own inner CV picks C and bins: "
             + ", ".join(f"C {c['c']:g} / {c['bins']} bins" for c in xed["nested"]["choices"])
             + "), the stored model's probabilities on the 5th"]] if xed.get("nested") else []),
         ["plain scikit-learn logistic regression", f"{baseline['cv_auc']:.4f}",
          ", ".join(f"{a:.3f}" for a in baseline["cv_folds"]), "—",
          f"in the bench's process, {folds}"],
         ["the default model's rules alone", f"{rules['rules_only_auc']:.3f} (backtest, no CV: nothing is fitted)",
          "—", "—", "`POST /api/scoring-models/{id}/backtest/`: `rules_only_auc`"],
         ["the default model (rules + AI layer)", f"{rules['auc']:.3f} (backtest)", "—", "—",
          "the same backtest: `auc`"]])
    target = "✅ met" if training["cv_auc"] >= baseline["cv_auc"] else "❌ missed"
    out.append("")
    out.append(f"Target: the product's cross-validated AUC ≥ the baseline's: {target}. Published analyses of this "
               "data without the leaky columns report a ROC AUC near 0.88.")
    with_learned = xed.get("backtest_with_learned")
    columns = len(baseline["numeric"]) + len(baseline["categorical"])
    out.append("")
    out.append(
        f"Through the product: the prepared file ({prepared['rows']:,} rows, {prepared['won']:,} converted) uploaded "
        f"with `POST /api/leads/upload/` in {xed['import']['seconds']:.1f} s (its `Converted` column stored as the "
        f"outcome); training {training['seconds']:.1f} s on {training['n_won']:,} won and {training['n_lost']:,} "
        f"lost; every lead scored for the offer *{xed['offer']['name']}* (value propositions: "
        f"{'; '.join(xed['offer']['value_props'])}; ideal use cases: {', '.join(xed['offer']['ideal_use_cases'])}) "
        f"with the default model in {xed['score']['seconds']:.1f} s; then the default model's backtest for that "
        f"offer. The default model's rules read a lead's role, industry and the completeness of its profile, and "
        f"its AI layer the role and bio: this file has none of them, so every lead gets the same score "
        f"(the top decile is then the first tenth of the ties: lift {rules['top_decile']['lift']})."
        + (f" The same backtest with a learned part of 30 points: AUC {with_learned['auc']:.3f}, on the leads "
           "the model learned from (optimistic; the cross-validated figure above is the fair one)."
           if with_learned else ""))
    out.append("")
    out.append(
        f"Prepared copy (written by the bench, `bench/xeducation.py`): a `Name` column (\"Lead 660737\", from "
        f"`{prepared['name_from']}`) in place of the identifiers {', '.join(prepared['identifiers'])} (the upload "
        f"needs a name or a company and the file has neither); the columns the sales team fills in after contact "
        f"removed, as the data's README says they leak the outcome ({', '.join(prepared['dropped'])}); "
        f"{prepared['select_blanked']:,} cells \"Select\" blanked (the form's default: \"not answered\"); "
        f"every other column as it is. Baseline: {baseline['model']}, on the same {columns} columns "
        f"({len(baseline['numeric'])} numeric: "
        f"{', '.join(baseline['numeric'])}; the rest one-hot, a blank as a category of its own). The product "
        f"uses the same fold split (StratifiedKFold(5, shuffle, seed 0) over the leads in id order) and picks "
        f"its L2 strength (4 values) and its numbers' bins (quintiles or deciles) by that cross-validation, "
        f"which flatters its figure a little: the nested row is the fair comparison; its hold-out AUC "
        f"is a separate 80/20 split.")
    return out
