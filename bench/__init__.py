"""Benchmarks run by ``make bench`` (not part of the service; see ``bench/http_bench.py``)."""
