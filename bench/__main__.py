"""`python -m bench [--quick]`: run the benchmarks and write bench/results/{latest,quick}.{md,json}.

Order of work (each run of a size gets a fresh DATA_DIR and a fresh web + worker pair, so re-imports
never turn into updates and every run starts from the same state):

1. Generate the CSVs (fixed seed) into a temporary directory.
2. For each size and run: start the stack, upload the CSV (import), score every lead with the local
   provider (the workspace's default model), measure the export (first run of each size) and results
   latency (first run of the largest size), then score the same leads again for a new offer that uses
   a custom 20-rule scoring model (custom_model), and on the first run time the score distribution
   endpoint (distribution). Last, `automations`: two more identical offers, one with a score_threshold
   webhook workflow whose receiver (bench/receiver.py) runs in a process of its own, scored and delivered
   (phases.measure_automations). After it, `events`: engagement events through POST /api/events/ from a
   few client threads, then the rescore of the leads they touched (bench/events.py).
   The import and export floors run on the same data in the same process.
3. The openai provider: a second stack configured against `leads.tests.llm_server` on 127.0.0.1
   with the given latency; each run scores the leads against a new offer (so the verdict cache of
   the previous run cannot answer).
4. Write the markdown table and the JSON file. Temporary directories and every process started are
   removed in `finally` blocks, on errors and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import dashboard, events, floors, phases, report, xeducation
from bench.classifier import measure_classifier
from bench.client import Api, BenchError
from bench.generate import DEFAULT_SEED, LeadGenerator, outcome_logit, outcomes, write_csv
from bench.memory import TreeSampler
from bench.phases import log
from bench.stack import HOST, REPO, Stack, free_port, kill_group

RESULTS_DIR = Path(__file__).absolute().parent / "results"
SMALL_MAX = 100_000  # sizes up to this get `runs` runs; larger ones `large_runs`
PHASES = ("import", "score", "custom_model", "results", "export", "distribution", "learned", "automations",
          "search", "openai", "xeducation", "dashboard", "classifier", "events")
# Phases run on the leads of each size (the rest: openai and xeducation, each on its own stack; classifier
# in process).
SIZE_PHASES = {"import", "score", "custom_model", "results", "export", "distribution", "learned", "automations",
               "search", "dashboard", "events"}
# Phases that need every lead scored by the default model first.
AFTER_SCORE = {"custom_model", "results", "export", "distribution", "learned", "dashboard", "events"}
# The learned phase records outcomes for this many of a size's leads at most (the 100,000).
LEARNED_MAX_OUTCOMES = 100_000


@dataclass
class Config:
    quick: bool = False
    sizes: list[int] = field(default_factory=lambda: [10_000, 100_000, 1_000_000])
    runs: int = 3
    large_runs: int = 1
    results_reps: int = 20
    distribution_reps: int = 20
    export_runs: int = 3
    openai_leads: int = 2000
    openai_runs: int = 3
    latency_ms: float = 200.0
    concurrency: int = 16
    seed: int = DEFAULT_SEED
    phases: list[str] = field(default_factory=lambda: list(PHASES))
    out: str = "latest"
    keep_temp: bool = False
    debug: bool = True
    xeducation_csv: str | None = None
    events_per_lead: float = events.EVENTS_PER_LEAD
    events_clients: int = events.CLIENTS

    def runs_for(self, size: int) -> int:
        return self.runs if size <= SMALL_MAX else self.large_runs


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (2k, 10k; openai 300 leads): about a minute; writes quick.{md,json}")
    parser.add_argument("--sizes", type=lambda s: [int(x.replace("_", "")) for x in s.split(",")],
                        help="comma-separated lead counts for import/score (default 10000,100000,1000000)")
    parser.add_argument("--runs", type=int, help=f"runs per size up to {SMALL_MAX:,} (default 3)")
    parser.add_argument("--large-runs", type=int, help=f"runs per size above {SMALL_MAX:,} (default 1)")
    parser.add_argument("--export-runs", type=int, help="export runs at the largest size (default 3)")
    parser.add_argument("--results-reps", type=int, help="requests per results query (default 20)")
    parser.add_argument("--distribution-reps", type=int, help="requests of the distribution endpoint (default 20)")
    parser.add_argument("--openai-leads", type=int, help="leads scored by the openai provider (default 2000)")
    parser.add_argument("--openai-runs", type=int, help="openai scoring runs (default 3)")
    parser.add_argument("--latency-ms", type=float, help="latency of the fake LLM server (default 200)")
    parser.add_argument("--concurrency", type=int, help="OPENAI_CONCURRENCY (default 16)")
    parser.add_argument("--seed", type=int, help=f"generator seed (default {DEFAULT_SEED})")
    parser.add_argument("--phases", help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--out", help="results file stem in bench/results, or a path (default latest; quick: quick)")
    parser.add_argument("--no-debug", action="store_true",
                        help="run the server with DEBUG=0 (a generated SECRET_KEY) instead of make run's DEBUG=1")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary data (for debugging)")
    parser.add_argument("--events-per-lead", type=float,
                        help=f"events sent per lead by the events phase (default {events.EVENTS_PER_LEAD}; quick: 2)")
    parser.add_argument("--events-clients", type=int,
                        help=f"concurrent client threads of the events phase (default {events.CLIENTS})")
    parser.add_argument("--xeducation-csv", help="the X Education leads CSV (default: ../shared/data/"
                                                 "xeducation-leads.csv beside the repository; skipped when absent)")
    args = parser.parse_args(argv)

    config = Config()
    if args.quick:
        config = Config(quick=True, sizes=[2_000, 10_000], runs=3, results_reps=10, export_runs=3, openai_leads=300,
                        openai_runs=2, out="quick", events_per_lead=2)
    for name in ("sizes", "runs", "large_runs", "export_runs", "results_reps", "distribution_reps", "openai_leads",
                 "openai_runs", "latency_ms", "concurrency", "seed", "out", "events_per_lead", "events_clients"):
        value = getattr(args, name)
        if value is not None:
            setattr(config, name, value)
    if args.phases:
        config.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
        unknown = set(config.phases) - set(PHASES)
        if unknown:
            parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
        if (SIZE_PHASES - {"import"}) & set(config.phases) and "import" not in config.phases:
            config.phases.insert(0, "import")  # they need leads; the import is then measured too
        if AFTER_SCORE & set(config.phases) and "score" not in config.phases:
            config.phases.insert(1, "score")  # the custom model is compared with it; the others read scores
    config.sizes = sorted(set(config.sizes))
    config.keep_temp = args.keep_temp
    config.xeducation_csv = args.xeducation_csv
    config.debug = not args.no_debug
    if min(config.sizes) < 1 or config.runs < 1 or config.large_runs < 1 or config.distribution_reps < 1 \
            or config.events_per_lead <= 0 or config.events_clients < 1:
        parser.error("sizes, runs and repetitions must be positive")
    return config


@contextmanager
def temporary_root(keep: bool) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="leadscore-bench-"))
    try:
        yield root
    finally:
        if keep:
            log(f"kept temporary data in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def _workspace_and_offer(stack: Stack, offer_name: str | None = None, *,
                         fields: dict[str, Any] | None = None) -> tuple[Api, dict[str, Any]]:
    api = stack.workspace("bench")
    return api, phases.create_offer(api, offer_name, fields=fields)


def _db_ids(db_path: Path, offer_id: int) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT workspace_id FROM leads_offer WHERE id = ?", (offer_id,)).fetchone()[0])
    finally:
        conn.close()


def measure_exports(api: Api, sampler: TreeSampler, db_path: Path, offer_id: int, size: int,
                    runs: int) -> dict[str, Any]:
    workspace_id = _db_ids(db_path, offer_id)
    exports, export_floors = [], []
    for export_run in range(1, runs + 1):
        result = phases.measure_export(api, size, sampler)
        exports.append(result)
        log(f"export {size:,} run {export_run}/{runs}: {result['seconds']:.2f} s ({result['rows_per_s']:,.0f} rows/s), "
            f"peak RSS {result['peak_process_mb']} MB, private growth {result['growth_private_mb']} MB")
        seconds, rows, size_bytes = floors.export_floor(db_path, workspace_id=workspace_id, offer_id=offer_id)
        if rows != size:
            raise BenchError(f"export floor read {rows} rows, expected {size}")
        export_floors.append({"seconds": seconds, "rows_per_s": rows / seconds, "bytes": size_bytes})
        log(f"export floor {size:,}: {seconds:.2f} s")
    return {"rows": size, "runs": exports, "floor": export_floors}


def measure_custom_model(api: Api, sampler: TreeSampler, size: int, run: int,
                         default: dict[str, Any]) -> dict[str, Any]:
    """Score the same leads for a new offer (the bench offer's fields) that uses a 20-rule custom model.

    Timed exactly as the default-model `score` phase before it (phases.measure_score: the same POST,
    the same wait and poll); `default` is that phase's result of this run, so the ratio compares the
    two on the same database and stack.
    """
    model = phases.create_custom_model(api, f"Bench custom model {size}-{run}")
    offer = phases.create_offer_with_model(api, "Pipeline autopilot (custom model)", model["model_id"])
    log(f"custom model {model['model_id']}: {model['rules']} rules (template {phases.CUSTOM_MODEL_TEMPLATE!r} "
        f"+ {len(phases.CUSTOM_MODEL_RULES)}), set up in {model['setup_seconds']:.2f} s; offer {offer['id']}")
    result = phases.measure_score(api, size, sampler, offer_id=offer["id"])
    ratio = result["seconds"] / default["seconds"]
    log(f"custom-model score {size:,}: {result['seconds']:.2f} s ({result['leads_per_s']:,.0f} leads/s), "
        f"{ratio:.2f}× the default model's {default['seconds']:.2f} s")
    return {**result, **model, "offer_id": offer["id"], "default_seconds": default["seconds"],
            "default_leads_per_s": default["leads_per_s"], "ratio": ratio}


def measure_learned(api: Api, sampler: TreeSampler, config: Config, size: int, run: int,
                    default: dict[str, Any]) -> dict[str, Any]:
    """Outcomes with a known signal for min(size, LEARNED_MAX_OUTCOMES) leads (by email, through the API),
    a training job, then the same leads scored for a new offer whose model is the default template with
    a learned part (weight 30), timed exactly as the default-model `score` phase before it."""
    from sklearn.metrics import roc_auc_score

    count = min(size, LEARNED_MAX_OUTCOMES)
    known = list(outcomes(count, seed=config.seed))
    recorded = phases.record_outcomes(api, known)
    log(f"learned {size:,}: {recorded['outcomes']:,} outcomes ({recorded['won']:,} won) recorded in "
        f"{recorded['seconds']:.1f} s ({recorded['outcomes_per_s']:,.0f}/s, {recorded['requests']} requests)")
    # The best any model could do: the known log-odds themselves, ranked against the coin tosses.
    logits = [outcome_logit(row) for row in LeadGenerator(config.seed).rows(count)]
    signal_auc = float(roc_auc_score([won for _, won in known], logits))
    trained = phases.measure_training(api, sampler, won=recorded["won"], lost=recorded["lost"])
    factors = ", ".join(f"{f['feature']} = {f['value']} ({f['effect']:+.2f})" for f in trained["top_factors"][:5])
    log(f"learned {size:,}: trained on {count:,} outcomes in {trained['seconds']:.1f} s "
        f"(job {trained['job_seconds']} s); cv AUC {trained['cv_auc']:.3f}, hold-out {trained['holdout_auc']:.3f} "
        f"(the signal's own {signal_auc:.3f}); top factors: {factors}")
    model = phases.create_learned_scoring_model(api, f"Bench learned model {size}-{run}")
    offer = phases.create_offer_with_model(api, "Pipeline autopilot (learned part)", model["model_id"])
    result = phases.measure_score(api, size, sampler, offer_id=offer["id"])
    check = phases.learned_part_check(api, offer["id"])
    ratio = result["seconds"] / default["seconds"]
    log(f"learned-part score {size:,}: {result['seconds']:.2f} s ({result['leads_per_s']:,.0f} leads/s), "
        f"{ratio:.2f}× the default model's {default['seconds']:.2f} s; blend {check['blend']}, probabilities "
        f"{check['probability_min']:.2f}–{check['probability_max']:.2f} on the first {check['checked']} results")
    job_ratio = (result["job_seconds"] / default["job_seconds"]) if result["job_seconds"] and default["job_seconds"] \
        else None
    return {"leads": size, "outcomes": recorded, "signal_auc": signal_auc, "training": trained,
            "scoring_model": model, "offer_id": offer["id"], "score": result, "check": check,
            "default_seconds": default["seconds"], "default_leads_per_s": default["leads_per_s"],
            "default_job_seconds": default["job_seconds"], "ratio": ratio, "job_ratio": job_ratio}


def measure_events(api: Api, sampler: TreeSampler, config: Config, size: int, data_dir: Path,
                   default: dict[str, Any]) -> dict[str, Any]:
    """size × events_per_lead events through POST /api/events/, then POST /api/leads/refresh/ until its
    runs finished, compared with `default` (this run's scoring of every lead)."""
    total = max(1, round(size * config.events_per_lead))
    leads = events.workspace_leads(data_dir / "leadscore.sqlite3")
    if len(leads) != size:
        raise BenchError(f"the database holds {len(leads):,} leads, {size:,} were imported")
    ingest = events.measure_events(api, sampler, leads, total=total, work_dir=data_dir / "event-bodies",
                                   clients=config.events_clients, seed=config.seed)
    log(f"events {size:,}: {ingest['events']:,} events in {ingest['seconds']:.1f} s "
        f"({ingest['events_per_s']:,.0f} events/s; {ingest['requests']} requests, p50 {ingest['p50_ms']:.0f} ms, "
        f"p95 {ingest['p95_ms']:.0f} ms; {ingest['duplicates']:,} duplicates), {ingest['touched_leads']:,} leads "
        f"touched; peak RSS {ingest['peak_process_mb']} MB; the bodies were built (untimed) in "
        f"{ingest['client_build_seconds']:.1f} s")
    fold_lag = events.wait_folded(data_dir, timeout=phases.job_timeout(size) * 4)
    ingest["folded_after_s"] = fold_lag
    ingest["folded_events_per_s"] = ingest["events"] / (ingest["seconds"] + fold_lag)
    log(f"events {size:,}: every event folded into the aggregates {fold_lag:.1f} s after the last answer "
        f"({ingest['folded_events_per_s']:,.0f} events/s from the first request to the last fold)")
    idle = phases.wait_idle(data_dir)
    rescore = events.measure_rescore(api, sampler, data_dir=data_dir, touched=ingest["touched_leads"],
                                     score=default, leads=size, timeout=phases.job_timeout(size) * 4)
    log(f"events {size:,}: rescore of {rescore['rescored']:,} stale scores ({rescore['jobs']} runs) in "
        f"{rescore['seconds']:.1f} s, {rescore['ratio']:.2f}× a plain rescore of as many "
        f"({rescore['plain_seconds']:.1f} s; every lead in {rescore['plain_rescore_all_seconds']:.1f} s), "
        f"{rescore['first_scoring_ratio']:.2f}× a first scoring")
    return {"ingest": ingest, "rescore": rescore, "idle_wait_s": idle, "events_per_lead": config.events_per_lead}


def measure_distributions(api: Api, config: Config, size: int, offer_id: int,
                          custom_offer_id: int | None) -> dict[str, Any]:
    """Time the distribution of the bench offer; check the custom-model offer's too (one request)."""
    result = phases.measure_distribution(api, offer_id, size, reps=config.distribution_reps)
    log(f"distribution {size:,}: p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms "
        f"({result['requests']} requests), total {result['total']}, average {result['average']}")
    checks = [("bench offer", result)]
    if custom_offer_id is not None:
        result["custom_offer"] = phases.distribution_check(api, custom_offer_id, size)
        checks.append(("custom-model offer", result["custom_offer"]))
        log(f"distribution {size:,} of the custom-model offer: total {result['custom_offer']['total']}, "
            f"average {result['custom_offer']['average']}")
    for label, check in checks:
        if not check["total_ok"] or not check["parts_add_up"]:
            log(f"WARNING: distribution of the {label} ({check['offer']}) answered total {check['total']} "
                f"(totals seen: {check.get('totals_seen', [check['total']])}; buckets/intents/stages sum to "
                f"{check['sums']}), {size:,} leads were scored")
    return result


def measure_import_without_search_index(config: Config, data_dir: Path, csv_path: Path, size: int) -> dict[str, Any]:
    """The same import on a stack whose database has no search index (its triggers and FTS5 table
    dropped after migrate): beside the run's own import, what maintaining the index costs."""
    stack = Stack(data_dir, debug=config.debug)
    try:
        stack.start()
        db_path = data_dir / "leadscore.sqlite3"
        phases.search_index_drop(db_path)
        api = stack.workspace("bench")
        with TreeSampler(stack.roots) as sampler:
            result = phases.measure_import(api, csv_path, size, sampler)
        result.update(phases.database_sizes(db_path))
        log(f"import {size:,} without the search index: {result['seconds']:.2f} s ({result['rows_per_s']:,.0f} "
            f"rows/s), database {result['db_bytes'] / 2**20:,.0f} MB")
        return result
    except BenchError:
        log(stack.log_tails())
        raise
    finally:
        stack.stop()
        if not config.keep_temp:
            shutil.rmtree(data_dir, ignore_errors=True)


def run_sizes(config: Config, root: Path, csvs: dict[int, Path], data: dict[str, Any]) -> None:
    largest = max(config.sizes)
    want = set(config.phases)
    for size in config.sizes:
        runs = config.runs_for(size)
        for run in range(1, runs + 1):
            data_dir = root / f"data-{size}-{run}"
            log(f"{size:,} leads, run {run}/{runs}: starting web + worker in {data_dir}")
            # The events phase times the ingest alone, then the rescore it causes: the debounced rescore
            # (the same call as POST /api/leads/refresh/) is held off while the events arrive.
            stack = Stack(data_dir, debug=config.debug,
                          env={"ENGAGEMENT_RESCORE_DELAY_SECONDS": "86400"} if "events" in want else None)
            try:
                stack.start()
                data["commands"] = stack.commands
                api, offer = _workspace_and_offer(stack)
                with TreeSampler(stack.roots) as sampler:
                    result = phases.measure_import(api, csvs[size], size, sampler)
                    if "search" in want:
                        result.update(phases.database_sizes(data_dir / "leadscore.sqlite3"))
                    data["import"].setdefault(str(size), []).append(result)
                    log(f"import {size:,}: {result['seconds']:.2f} s ({result['rows_per_s']:,.0f} rows/s), "
                        f"peak RSS {result['peak_process_mb']} MB ({result['peak_process']})")
                    default_score = None
                    if "score" in want:
                        default_score = result = phases.measure_score(api, size, sampler)
                        data["score_local"].setdefault(str(size), []).append(result)
                        log(f"score {size:,}: {result['seconds']:.2f} s ({result['leads_per_s']:,.0f} leads/s), "
                            f"peak RSS {result['peak_process_mb']} MB")
                    if run == 1 and "export" in want:
                        # Every size once (memory that stays flat across sizes is flat), the largest repeatedly;
                        # before the results phase, whose queries would leave the web workers' heaps grown.
                        data["export"][str(size)] = measure_exports(
                            api, sampler, data_dir / "leadscore.sqlite3", offer["id"], size,
                            config.export_runs if size == largest else 1)
                    if size == largest and run == 1 and "results" in want:
                        # Pages are timed on an idle worker: no task left from the scoring (with workflows,
                        # its outbox's dispatch would share the two cores with the pages).
                        waited = phases.wait_idle(data_dir)
                        sampler.window()
                        queries = phases.measure_results(api, reps=config.results_reps)
                        data["results"] = {"leads": size, "queries": queries, "memory": sampler.window().as_dict(),
                                           "idle_wait_seconds": waited}
                    if size == largest and run == 1 and "dashboard" in want:
                        phases.wait_idle(data_dir)
                        data["dashboard"] = {"leads": size, "pages": dashboard.measure_dashboard(
                            stack, offer["id"], reps=config.results_reps)}
                    # After export and results, so their figures are taken on the database they always were
                    # (one offer's scores); the custom model's scores then sit beside the default's.
                    custom_offer_id = None
                    if "custom_model" in want and default_score is not None:
                        custom = measure_custom_model(api, sampler, size, run, default_score)
                        data["custom_model"].setdefault(str(size), []).append(custom)
                        custom_offer_id = custom["offer_id"]
                    if run == 1 and "distribution" in want:
                        data["distribution"][str(size)] = measure_distributions(
                            api, config, size, offer["id"], custom_offer_id)
                    if size == largest and run == 1 and "search" in want:
                        data["lead_search"] = {"leads": size, "queries": phases.measure_lead_search(
                            api, reps=config.results_reps)}
                    # After the figures that read the first offers' scores: it adds outcomes, a trained model and
                    # one more offer's scores (the custom model's, when it ran, are in the table before them).
                    if "learned" in want and default_score is not None:
                        data["learned"].setdefault(str(size), []).append(
                            measure_learned(api, sampler, config, size, run, default_score))
                    # Last: its executions, deliveries and two more offers' scores touch nothing measured above.
                    if "automations" in want:
                        auto = phases.measure_automations(api, size, sampler, label=f"{size}-{run}",
                                                          worker_log=data_dir / "logs" / "worker.log",
                                                          receiver_dir=data_dir / "receiver",
                                                          data_dir=data_dir)
                        data["automations"].setdefault(str(size), []).append(auto)
                        seconds = "not all delivered" if auto["seconds"] is None else f"{auto['seconds']:.1f} s"
                        log(f"automations {size:,}: {auto['delivered']:,} of {auto['crossings']:,} crossings "
                            f"delivered ({seconds} after the job's end, {auto['rate_per_s'] or 0:,.0f}/s), "
                            f"{auto['duplicates']} duplicates, {auto['bad_signatures']} bad signatures; scoring "
                            f"{auto['ratio']:.2f}× the controls ({auto['workflow_seconds']:.2f} s vs "
                            f"{auto['control_seconds']:.2f} / {auto['control_after_seconds']:.2f} s); executions "
                            f"{auto['executions']}; worker log: {auto['worker_log']['errors']} errors")
                    # After everything else: ten events a lead make the database several times larger.
                    if "events" in want and default_score is not None:
                        data["events"].setdefault(str(size), []).append(
                            measure_events(api, sampler, config, size, data_dir, default_score))
                    # The kernel's own high-water mark catches spikes between two samples.
                    hwm_label, hwm = max(sampler.hwm().items(), key=lambda item: item[1])
                    data["hwm"].setdefault(str(size), []).append({"process": hwm_label, "mb": round(hwm / 2**20, 1)})
            except BenchError:
                log(stack.log_tails())
                raise
            finally:
                stack.stop()
                if not config.keep_temp:
                    shutil.rmtree(data_dir, ignore_errors=True)
            if "search" in want:
                without = measure_import_without_search_index(config, root / f"data-{size}-{run}-no-search-index",
                                                              csvs[size], size)
                data["import_no_search_index"].setdefault(str(size), []).append(without)
            floor_seconds, floor_rows = floors.import_floor(csvs[size], root / "floor.sqlite3")
            data["import_floor"].setdefault(str(size), []).append(
                {"seconds": floor_seconds, "rows_per_s": floor_rows / floor_seconds})
            log(f"import floor {size:,}: {floor_seconds:.2f} s")


def _start_llm_server(port: int, latency_ms: float, log_path: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "leads.tests.llm_server", "--host", HOST, "--port", str(port),
         "--latency-ms", str(latency_ms)],
        cwd=REPO, stdout=log_path.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    import http.client

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the LLM test server exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/v1/models")
            if conn.getresponse().status == 200:
                conn.close()
                return process
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    kill_group(process)
    raise BenchError("the LLM test server did not answer within 30 s")


def run_openai(config: Config, root: Path, csv_path: Path, data: dict[str, Any]) -> None:
    leads = config.openai_leads
    port = free_port()
    llm: subprocess.Popen[bytes] | None = None
    data_dir = root / "data-openai"
    data_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(data_dir, name="openai", debug=config.debug, env={
        "INTENT_PROVIDER": "openai", "OPENAI_API_KEY": "dummy", "OPENAI_BASE_URL": f"http://{HOST}:{port}/v1",
        "OPENAI_CONCURRENCY": str(config.concurrency), "OPENAI_MODEL": "judge",
    })
    try:
        llm = _start_llm_server(port, config.latency_ms, data_dir / "llm.log")
        log(f"openai: LLM test server on {HOST}:{port} ({config.latency_ms:.0f} ms), starting web + worker")
        stack.start()
        api, _ = _workspace_and_offer(stack, "openai warm-up offer")
        with TreeSampler(stack.roots) as sampler:
            phases.measure_import(api, csv_path, leads, sampler)
            runs = []
            for run in range(1, config.openai_runs + 1):
                # A new offer per run: the verdict cache keys on the offer, so nothing is answered from it.
                phases.create_offer(api, f"openai run {run}")
                result = phases.measure_score(api, leads, sampler)
                runs.append(result)
                log(f"openai score {leads:,} run {run}: {result['seconds']:.2f} s ({result['leads_per_s']:.1f} "
                    f"leads/s), {result['requests_per_lead']:.2f} requests and {result['prompt_tokens_per_lead']:.0f} "
                    f"prompt tokens per lead")
    except BenchError:
        log(stack.log_tails())
        raise
    else:
        data["score_openai"] = {"leads": leads, "latency_ms": config.latency_ms, "concurrency": config.concurrency,
                                "ceiling_leads_per_s": config.concurrency / (config.latency_ms / 1000), "runs": runs}
    finally:
        stack.stop()
        if llm is not None:
            kill_group(llm, grace=3)
        if not config.keep_temp:
            shutil.rmtree(data_dir, ignore_errors=True)


def run_classifier(config: Config, data: dict[str, Any]) -> None:
    """The local provider alone, in-process: `runs` cold runs per size (bench/classifier.py)."""
    for size in config.sizes:
        for run in range(1, config.runs_for(size) + 1):
            result = measure_classifier(size, seed=config.seed)
            data["classifier"].setdefault(str(size), []).append(result)
            log(f"classifier {size:,} run {run}: {result['seconds']:.2f} s ({result['leads_per_s']:,.0f} leads/s, "
                f"{result['us_per_lead']:.1f} µs a lead, {result['cpu_us_per_lead']:.1f} µs of CPU)")


def run_xeducation(config: Config, root: Path, data: dict[str, Any]) -> None:
    """Real leads and outcomes, through the product: the prepared X Education file uploaded with its
    `Converted` column, a training job, the leads scored for an online-education offer, and the default
    model's backtest (the rules alone); beside them a plain scikit-learn baseline on the same columns,
    computed here. Skipped, with a message, when the file is absent."""
    source = xeducation.source_path(Path(config.xeducation_csv) if config.xeducation_csv else None)
    if source is None:
        where = config.xeducation_csv or f"../{xeducation.SOURCE} beside the repository"
        message = f"skipped: no X Education data at {where} (a clone of the project has none)"
        log(f"xeducation: {message}")
        data["xeducation"] = {"skipped": message}
        return
    data_dir = root / "data-xeducation"
    data_dir.mkdir(parents=True, exist_ok=True)
    prepared = root / "xeducation-prepared.csv"
    info = xeducation.prepare(source, prepared)
    log(f"xeducation: {info['rows']:,} leads ({info['won']:,} converted) from {source}; dropped "
        f"{', '.join(info['dropped'])}; {info['select_blanked']:,} 'Select' cells blanked")
    stack = Stack(data_dir, name="xeducation", debug=config.debug)
    try:
        stack.start()
        data["commands"] = stack.commands
        api, offer = _workspace_and_offer(stack, xeducation.OFFER["name"], fields=xeducation.OFFER)
        with TreeSampler(stack.roots) as sampler:
            imported = phases.measure_import(api, prepared, info["rows"], sampler)
            log(f"xeducation import: {imported['seconds']:.2f} s")
            trained = phases.measure_training(api, sampler, won=info["won"], lost=info["lost"])
            log(f"xeducation training: {trained['seconds']:.1f} s; cv AUC {trained['cv_auc']:.4f}, hold-out "
                f"{trained['holdout_auc']:.4f}")
            order = phases.lead_names_by_id(api, info["rows"])
            same_order = order == xeducation.names_in_file_order(prepared)
            scored = phases.measure_score(api, info["rows"], sampler, offer_id=offer["id"])
            log(f"xeducation scoring (default model): {scored['seconds']:.2f} s")
            default_model = phases.default_scoring_model_id(api)
            rules = phases.measure_backtest(api, default_model, offer["id"], expected=info["rows"])
            with_learned = phases.measure_backtest(api, default_model, offer["id"], expected=info["rows"],
                                                   settings={"learned_weight": phases.LEARNED_WEIGHT})
            log(f"xeducation backtest of the default model: AUC {rules['auc']:.4f}, rules alone "
                f"{rules['rules_only_auc']:.4f}; with a learned part of {phases.LEARNED_WEIGHT}: "
                f"{with_learned['auc']:.4f} (on the leads it learned from)")
        started = time.perf_counter()
        baseline = xeducation.baseline_cv_auc(prepared)
        baseline["seconds"] = time.perf_counter() - started
        log(f"xeducation baseline: cv AUC {baseline['cv_auc']:.4f} ({baseline['seconds']:.1f} s); product "
            f"{trained['cv_auc']:.4f}; same folds: {same_order}")
        started = time.perf_counter()
        nested = xeducation.nested_cv_auc(prepared)
        nested["seconds"] = time.perf_counter() - started
        log(f"xeducation nested: cv AUC {nested['cv_auc']:.4f} ({nested['seconds']:.1f} s), "
            f"choices {nested['choices']}")
    except BenchError:
        log(stack.log_tails())
        raise
    else:
        data["xeducation"] = {"source": str(source), "prepared": {k: v for k, v in info.items()},
                              "offer": xeducation.OFFER, "import": imported, "training": trained,
                              "score": scored, "backtest": rules, "backtest_with_learned": with_learned,
                              "nested": nested, "baseline": baseline, "same_folds": same_order}
    finally:
        stack.stop()
        if not config.keep_temp:
            shutil.rmtree(data_dir, ignore_errors=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    # `kill` and `make`'s Ctrl-C reach us as SIGTERM/SIGINT: unwind through the finally blocks.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.perf_counter()
    data: dict[str, Any] = {
        "config": asdict(config), "machine": report.machine(), "import": {}, "import_floor": {}, "score_local": {},
        "custom_model": {}, "distribution": {}, "export": {}, "learned": {}, "automations": {}, "hwm": {},
        "classifier": {}, "import_no_search_index": {}, "events": {},
        "custom_model_rules": {"template": phases.CUSTOM_MODEL_TEMPLATE,
                               "template_rules": phases.CUSTOM_MODEL_TEMPLATE_RULES,
                               "added": phases.CUSTOM_MODEL_RULES},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    want = set(config.phases)
    sized = f"sizes {', '.join(f'{s:,}' for s in config.sizes)}; " if want & SIZE_PHASES else ""
    log(f"{'quick' if config.quick else 'full'} run: {sized}phases {', '.join(config.phases)}")
    failed: BaseException | None = None
    with temporary_root(config.keep_temp) as root:
        try:
            csvs: dict[int, Path] = {}
            sizes = set(config.sizes if want & SIZE_PHASES else [])
            if "openai" in want:
                sizes.add(config.openai_leads)
            for size in sorted(sizes):
                t0 = time.perf_counter()
                csvs[size] = root / f"leads-{size}.csv"
                size_bytes = write_csv(csvs[size], size, seed=config.seed)
                log(f"generated {size:,} leads ({size_bytes / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
            if want & SIZE_PHASES:
                run_sizes(config, root, csvs, data)
            if "openai" in want:
                run_openai(config, root, csvs[config.openai_leads], data)
            if "classifier" in want:
                run_classifier(config, data)
            if "xeducation" in want:
                run_xeducation(config, root, data)
        except (BenchError, KeyboardInterrupt) as exc:
            failed = exc
            log(f"stopped: {exc!r}")
    data["total_seconds"] = time.perf_counter() - started
    if failed is not None:
        data["error"] = repr(failed)
    stem = Path(config.out) if "/" in config.out else RESULTS_DIR / config.out
    if failed is not None:  # never replace a complete result with a partial one
        stem = stem.with_name(stem.name + "-incomplete")
    stem.parent.mkdir(parents=True, exist_ok=True)
    markdown = report.markdown(data)
    stem.with_suffix(".md").write_text(markdown)
    stem.with_suffix(".json").write_text(json.dumps(report.rounded(data), indent=1, sort_keys=True) + "\n")
    print(markdown)
    log(f"wrote {stem}.md and .json in {data['total_seconds']:.0f} s")
    return 1 if failed is not None else 0


if __name__ == "__main__":
    sys.exit(main())
