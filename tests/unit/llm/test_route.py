"""The rules every route keeps, whoever creates or changes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.llm.errors import ALL_KINDS, FALLBACK_KINDS, InvalidRoute
from domain.llm.ids import CredentialId, RouteId
from domain.llm.models import ModelName, Provider
from domain.llm.route import (
    MAX_TARGETS,
    Route,
    RouteTarget,
    Strategy,
    parse_fallback_on,
    parse_route_name,
    parse_targets,
)
from domain.tenancy.ids import WorkspaceId

NOW = datetime(2025, 3, 1, 9, tzinfo=UTC)
WORKSPACE = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000a"))
CREDENTIAL = CredentialId(UUID("0190cccc-0000-7000-8000-000000000001"))


def route(**fields: object) -> Route:
    values: dict[str, object] = {
        "id": RouteId(UUID("0190aaaa-0000-7000-8000-000000000001")),
        "workspace_id": WORKSPACE,
        "name": "fast",
        "strategy": "priority",
        "targets": [RouteTarget(model="openai/gpt-4o-mini")],
        "created_by": None,
        "now": NOW,
    }
    values.update(fields)
    return Route.create(**values)  # type: ignore[arg-type]


def field_of(error: pytest.ExceptionInfo[InvalidRoute]) -> str | None:
    return error.value.field


# -- name ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fast", "a", "gpt-4o.fast", "team:chat_v2", "x" * 64, " fast "])
def test_a_name_of_letters_digits_and_dot_underscore_colon_dash_is_accepted(name: str) -> None:
    assert route(name=name).name == name.strip()


@pytest.mark.parametrize(
    "name",
    ["", "   ", "x" * 65, "openai/gpt-4o", "fast/slow", "with space", "naïve", "a\x00b", "a\nb"],
)
def test_any_other_name_is_refused_on_the_name_field(name: str) -> None:
    with pytest.raises(InvalidRoute) as error:
        route(name=name)
    assert field_of(error) == "name"


@given(st.text(max_size=80))
def test_an_accepted_name_never_reads_as_a_model_name(raw: str) -> None:
    try:
        name = parse_route_name(raw)
    except InvalidRoute:
        return
    assert 1 <= len(name) <= 64
    assert "/" not in name
    assert ModelName.parse(name) is None
    assert not any(name.startswith(f"{p.value}/") for p in Provider)


# -- strategy ------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", [s.value for s in Strategy])
def test_each_strategy_is_accepted(strategy: str) -> None:
    assert route(strategy=strategy).strategy is Strategy(strategy)


@pytest.mark.parametrize("strategy", ["", "random", "PRIORITY", "round_robin"])
def test_an_unknown_strategy_is_refused(strategy: str) -> None:
    with pytest.raises(InvalidRoute) as error:
        route(strategy=strategy)
    assert field_of(error) == "strategy"


# -- targets -------------------------------------------------------------------------------


def test_targets_keep_their_order_and_defaults() -> None:
    created = route(
        targets=[
            RouteTarget(model=" anthropic/claude-sonnet-4-5 "),
            RouteTarget(model="custom/meta-llama/Llama-3-8B", weight=5, priority=-3),
        ]
    )
    first, second = created.targets
    assert first == RouteTarget(model="anthropic/claude-sonnet-4-5", weight=1, priority=0)
    assert second.model == "custom/meta-llama/Llama-3-8B"
    assert (second.weight, second.priority) == (5, -3)


@pytest.mark.parametrize("count", [0, MAX_TARGETS + 1])
def test_zero_or_more_than_sixteen_targets_are_refused(count: int) -> None:
    targets = [RouteTarget(model=f"openai/m{i}") for i in range(count)]
    with pytest.raises(InvalidRoute) as error:
        route(targets=targets)
    assert field_of(error) == "targets"


def test_sixteen_targets_are_accepted() -> None:
    targets = [RouteTarget(model=f"openai/m{i}") for i in range(MAX_TARGETS)]
    assert len(route(targets=targets).targets) == MAX_TARGETS


@pytest.mark.parametrize(
    "model", ["gpt-4o", "unknown/gpt", "openai/", "openai/ ", "openai/gpt 4o", "/gpt", "x" * 300]
)
def test_a_model_that_is_not_provider_slash_model_is_refused_with_its_path(model: str) -> None:
    targets = [RouteTarget(model="openai/gpt-4o-mini"), RouteTarget(model=model)]
    with pytest.raises(InvalidRoute) as error:
        route(targets=targets)
    assert field_of(error) == "targets[1].model"


@pytest.mark.parametrize(("weight", "ok"), [(0, False), (1, True), (1000, True), (1001, False)])
def test_weight_is_from_1_to_1000(weight: int, ok: bool) -> None:
    targets = [RouteTarget(model="openai/gpt-4o-mini", weight=weight)]
    if ok:
        assert route(targets=targets).targets[0].weight == weight
        return
    with pytest.raises(InvalidRoute) as error:
        route(targets=targets)
    assert field_of(error) == "targets[0].weight"


@pytest.mark.parametrize(
    ("priority", "ok"), [(-1001, False), (-1000, True), (1000, True), (1001, False)]
)
def test_priority_is_from_minus_1000_to_1000(priority: int, ok: bool) -> None:
    targets = [RouteTarget(model="openai/gpt-4o-mini", priority=priority)]
    if ok:
        assert route(targets=targets).targets[0].priority == priority
        return
    with pytest.raises(InvalidRoute) as error:
        route(targets=targets)
    assert field_of(error) == "targets[0].priority"


def test_a_boolean_is_not_a_weight() -> None:
    with pytest.raises(InvalidRoute):
        parse_targets([RouteTarget(model="openai/gpt-4o-mini", weight=True)])


def test_the_same_model_and_credential_twice_is_refused() -> None:
    targets = [
        RouteTarget(model="openai/gpt-4o-mini", credential_id=CREDENTIAL),
        RouteTarget(model="openai/gpt-4o"),
        RouteTarget(model=" openai/gpt-4o-mini", credential_id=CREDENTIAL, weight=3),
    ]
    with pytest.raises(InvalidRoute) as error:
        route(targets=targets)
    assert field_of(error) == "targets[2]"


def test_the_same_model_with_another_credential_is_another_target() -> None:
    targets = [
        RouteTarget(model="openai/gpt-4o-mini", credential_id=CREDENTIAL),
        RouteTarget(model="openai/gpt-4o-mini"),
    ]
    assert len(route(targets=targets).targets) == 2


# -- fallback_on ---------------------------------------------------------------------------


def test_fallback_on_defaults_to_the_four_transient_kinds() -> None:
    assert route().fallback_on == frozenset(FALLBACK_KINDS)
    assert parse_fallback_on(None) == frozenset(
        {"rate_limited", "server_error", "timeout", "overloaded"}
    )


@given(st.sets(st.sampled_from(ALL_KINDS)))
def test_any_subset_of_the_error_kinds_is_accepted(kinds: set[str]) -> None:
    assert parse_fallback_on(sorted(kinds)) == frozenset(kinds)


def test_an_unknown_error_kind_is_refused() -> None:
    with pytest.raises(InvalidRoute) as error:
        route(fallback_on=["timeout", "everything"])
    assert field_of(error) == "fallback_on"
    assert "everything" in error.value.detail


# -- update --------------------------------------------------------------------------------


def test_an_update_changes_only_what_is_given_and_says_what_changed() -> None:
    created = route()
    later = NOW + timedelta(minutes=5)
    changed = created.update(now=later, strategy="weighted", name="fast")
    assert changed == ["strategy"]
    assert created.strategy is Strategy.WEIGHTED
    assert created.name == "fast"
    assert created.updated_at == later
    assert created.created_at == NOW


def test_an_update_that_changes_nothing_keeps_the_update_time() -> None:
    created = route()
    assert created.update(now=NOW + timedelta(hours=1), name="fast", strategy="priority") == []
    assert created.updated_at == NOW


def test_an_invalid_update_changes_nothing() -> None:
    created = route()
    with pytest.raises(InvalidRoute) as error:
        created.update(
            now=NOW + timedelta(hours=1),
            name="renamed",
            targets=[RouteTarget(model="nope")],
        )
    assert field_of(error) == "targets[0].model"
    assert created.name == "fast"
    assert created.updated_at == NOW
