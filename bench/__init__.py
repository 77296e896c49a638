"""Benchmarks: `make bench` (full: 10k, 100k and 1M leads) and `make bench-quick` (about a minute).

Everything runs against the embedded default — SQLite and the filesystem Celery broker in a fresh
temporary DATA_DIR — through the real HTTP API, with gunicorn and a Celery worker started exactly as
`make run` starts them. See bench/README.md for what each figure means.
"""
