"""Prometheus counters for /metrics, kept in one module so every writer names them the same way.

Counters live in each process. Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR
(prometheus_client's multiprocess mode) so /metrics adds them up across processes.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("leadscore_http_requests_total", "HTTP requests served", ["method", "status"])
REQUEST_SECONDS = Histogram("leadscore_http_request_duration_seconds", "HTTP request latency")
JOBS = Counter("leadscore_jobs_total", "Jobs finished", ["kind", "status"])
LEADS_IMPORTED = Counter("leadscore_leads_imported_total", "Lead rows stored by imports", ["outcome"])
LEADS_SCORED = Counter("leadscore_leads_scored_total", "Leads scored", ["provider"])
AI_CALLS = Counter("leadscore_ai_calls_total", "AI-layer HTTP requests made", ["provider"])
AI_ERRORS = Counter("leadscore_ai_errors_total", "Leads the AI layer could not classify", ["provider"])
AI_TOKENS = Counter("leadscore_ai_tokens_total", "AI-layer tokens used", ["provider", "kind"])
AI_CACHE_HITS = Counter("leadscore_ai_cache_hits_total", "AI verdicts served from the cache", ["provider"])
