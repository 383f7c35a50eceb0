"""The gateway's Prometheus metrics: what a finished call counts, bounded labels,
breaker states, and one registration per process."""

from __future__ import annotations

import importlib
import uuid

import pytest
from prometheus_client import REGISTRY, generate_latest

import adapters.llm.metrics as metrics_module
from adapters.llm.metrics import MAX_LABEL_LENGTH, PrometheusGatewayMetrics
from tests.fakes.llm_usage import usage_record


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def unique_model() -> str:
    return f"openai/m-{uuid.uuid4().hex[:12]}"


def test_a_finished_call_counts_request_tokens_cost_duration_and_ttft() -> None:
    model = unique_model()
    PrometheusGatewayMetrics().call_finished(
        usage_record(
            model=model,
            input_tokens=100,
            output_tokens=40,
            cached_tokens=30,
            cost_micros=2_500,
            latency_ms=1_500,
            ttft_ms=200,
        )
    )
    on = {"provider": "openai", "model": model}
    assert value("synapscale_llm_requests_total", **on, status="ok") == 1
    assert value("synapscale_llm_tokens_total", **on, kind="input") == 100
    assert value("synapscale_llm_tokens_total", **on, kind="output") == 40
    assert value("synapscale_llm_tokens_total", **on, kind="cached") == 30
    assert value("synapscale_llm_cost_usd_total", **on) == pytest.approx(0.0025)
    assert value("synapscale_llm_request_duration_seconds_count", **on) == 1
    assert value("synapscale_llm_request_duration_seconds_sum", **on) == pytest.approx(1.5)
    assert value("synapscale_llm_request_duration_seconds_bucket", **on, le="1.0") == 0
    assert value("synapscale_llm_request_duration_seconds_bucket", **on, le="2.5") == 1
    assert value("synapscale_llm_time_to_first_token_seconds_sum", **on) == pytest.approx(0.2)


def test_an_unknown_cost_adds_nothing_to_the_cost_and_no_ttft_is_not_observed() -> None:
    model = unique_model()
    metrics = PrometheusGatewayMetrics()
    metrics.call_finished(usage_record(model=model, cost_micros=None, ttft_ms=None))
    metrics.unpriced_call(model)
    on = {"provider": "openai", "model": model}
    assert value("synapscale_llm_requests_total", **on, status="ok") == 1
    assert REGISTRY.get_sample_value("synapscale_llm_cost_usd_total", on) is None
    assert REGISTRY.get_sample_value("synapscale_llm_time_to_first_token_seconds_count", on) is None
    assert value("synapscale_llm_unpriced_calls_total", model=model) == 1


def test_a_failed_call_is_counted_by_its_status_and_upstream_errors_by_kind() -> None:
    model = unique_model()
    metrics = PrometheusGatewayMetrics()
    before = value("synapscale_llm_upstream_errors_total", provider="anthropic", kind="overloaded")
    metrics.call_finished(usage_record(model=model, status="overloaded", cost_micros=None))
    metrics.upstream_error("anthropic", "overloaded")
    metrics.upstream_error("anthropic", "overloaded")
    assert (
        value("synapscale_llm_requests_total", provider="openai", model=model, status="overloaded")
        == 1
    )
    after = value("synapscale_llm_upstream_errors_total", provider="anthropic", kind="overloaded")
    assert after - before == 2


def test_model_labels_are_clipped_and_a_call_that_reached_no_model_is_labelled_none() -> None:
    long_model = "openai/" + "x" * 500 + uuid.uuid4().hex
    metrics = PrometheusGatewayMetrics()
    metrics.call_finished(usage_record(model=long_model))
    clipped = long_model[:MAX_LABEL_LENGTH]
    assert value("synapscale_llm_requests_total", provider="openai", model=clipped, status="ok")
    before = value("synapscale_llm_requests_total", provider="none", model="none", status="x")
    metrics.call_finished(
        usage_record(
            model=None, requested_model="whatever-the-caller-typed", status="x", cost_micros=None
        )
    )
    after = value("synapscale_llm_requests_total", provider="none", model="none", status="x")
    assert after - before == 1
    exposition = generate_latest(REGISTRY).decode()
    assert "whatever-the-caller-typed" not in exposition
    assert "x" * (MAX_LABEL_LENGTH + 1) not in exposition


def test_breaker_state_is_a_gauge_per_target() -> None:
    target = f"cred-{uuid.uuid4().hex[:8]}|gpt-4o"
    metrics = PrometheusGatewayMetrics()
    for state, number in (("open", 2), ("half_open", 1), ("closed", 0), ("open", 2)):
        metrics.breaker_changed(target, state)
        assert value("synapscale_llm_breaker_state", target=target) == number
    metrics.breaker_changed(target, "melted")  # unknown: the gauge keeps what it knew
    assert value("synapscale_llm_breaker_state", target=target) == 2


def test_dropped_usage_records_are_counted() -> None:
    before = value("synapscale_llm_usage_records_dropped_total")
    PrometheusGatewayMetrics().records_dropped(3)
    assert value("synapscale_llm_usage_records_dropped_total") - before == 3


def test_the_collectors_are_registered_once_however_many_instances_exist() -> None:
    first, second = PrometheusGatewayMetrics(), PrometheusGatewayMetrics()
    model = unique_model()
    first.call_finished(usage_record(model=model))
    second.call_finished(usage_record(model=model))
    assert value("synapscale_llm_requests_total", provider="openai", model=model, status="ok") == 2
    names = [m.name for m in REGISTRY.collect() if m.name.startswith("synapscale_llm_requests")]
    assert names == ["synapscale_llm_requests"]
    # Importing the module again (as a second app or worker in the process
    # would) reuses it rather than registering twice.
    assert importlib.import_module("adapters.llm.metrics") is metrics_module
