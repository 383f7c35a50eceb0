"""The gateway's Prometheus metrics (``synapscale_llm_*``, default registry).

The collectors are module globals, so they are registered once per process
however many apps or containers are built (tests build one per test);
``PrometheusGatewayMetrics`` is a thin, stateless view over them.

Labels stay bounded and secret-free: provider names and error kinds come from
our own enums; a model name is clipped to ``MAX_LABEL_LENGTH`` characters,
and a call that never reached a model is labelled ``none`` rather than with
whatever name the caller sent. Status labels are our error codes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from application.ports.llm_usage import GatewayMetrics
from domain.llm.usage import UsageRecord

MAX_LABEL_LENGTH = 100
NONE = "none"

REQUESTS = Counter(
    "synapscale_llm_requests_total",
    "Gateway calls, by provider, model and final status (ok or an error code).",
    ["provider", "model", "status"],
)
TOKENS = Counter(
    "synapscale_llm_tokens_total",
    "Tokens the upstreams counted, by kind: input, output, cached (a part of input).",
    ["provider", "model", "kind"],
)
COST = Counter(
    "synapscale_llm_cost_usd_total",
    "What the calls cost in USD, from known prices only (unpriced calls are counted apart).",
    ["provider", "model"],
)
UNPRICED = Counter(
    "synapscale_llm_unpriced_calls_total",
    "Calls to a model whose price is unknown: recorded with cost unknown, never as $0.",
    ["model"],
)
DURATION = Histogram(
    "synapscale_llm_request_duration_seconds",
    "Gateway call duration, fallbacks and retries included.",
    ["provider", "model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0),
)
TTFT = Histogram(
    "synapscale_llm_time_to_first_token_seconds",
    "Time until the first streamed chunk left the upstream.",
    ["provider", "model"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
)
UPSTREAM_ERRORS = Counter(
    "synapscale_llm_upstream_errors_total",
    "Failed upstream attempts, by provider and error kind.",
    ["provider", "kind"],
)
BREAKER_STATE = Gauge(
    "synapscale_llm_breaker_state",
    "Circuit breaker per upstream target: 0 closed, 1 half open, 2 open.",
    ["target"],
)
USAGE_RECORDS_DROPPED = Counter(
    "synapscale_llm_usage_records_dropped_total",
    "Usage records given up: the buffer overflowed during a long outage, the "
    "database refused them, or it was still away at shutdown.",
)

BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


def clip(value: str | None) -> str:
    if not value:
        return NONE
    return value[:MAX_LABEL_LENGTH]


class PrometheusGatewayMetrics(GatewayMetrics):
    def call_finished(self, record: UsageRecord) -> None:
        provider = clip(record.provider)
        model = clip(record.model)
        REQUESTS.labels(provider, model, clip(record.status)).inc()
        for kind, count in (
            ("input", record.input_tokens),
            ("output", record.output_tokens),
            ("cached", record.cached_tokens),
        ):
            if count > 0:
                TOKENS.labels(provider, model, kind).inc(count)
        if record.cost_micros is not None and record.cost_micros > 0:
            COST.labels(provider, model).inc(record.cost_micros / 1_000_000)
        DURATION.labels(provider, model).observe(max(0, record.latency_ms) / 1000)
        if record.ttft_ms is not None:
            TTFT.labels(provider, model).observe(max(0, record.ttft_ms) / 1000)

    def upstream_error(self, provider: str, kind: str) -> None:
        UPSTREAM_ERRORS.labels(clip(provider), clip(kind)).inc()

    def unpriced_call(self, model: str) -> None:
        UNPRICED.labels(clip(model)).inc()

    def breaker_changed(self, target: str, state: str) -> None:
        value = BREAKER_STATES.get(state)
        if value is None:  # not a state we know: no gauge value to say it with
            return
        BREAKER_STATE.labels(clip(target)).set(value)

    def records_dropped(self, count: int) -> None:
        """Not a port method: the usage buffer's loss counter."""
        USAGE_RECORDS_DROPPED.inc(count)
