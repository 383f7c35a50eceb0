"""The model catalogue: genai-prices, the built-in families and operator overrides."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from genai_prices import data_snapshot
from hypothesis import given
from hypothesis import strategies as st

from adapters.llm.catalogue import Catalogue, bundled_prices
from domain.llm.chat import Usage
from domain.llm.models import Capabilities, ModelName, Price, Provider


def name(raw: str) -> ModelName:
    return ModelName.require(raw)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue()


def write(tmp_path: Path, models: dict[str, dict[str, object]]) -> Path:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps({"models": models}))
    return path


# -- prices ------------------------------------------------------------------------------------


def test_gpt_4o_mini_has_the_published_price(catalogue: Catalogue) -> None:
    info = catalogue.lookup(name("openai/gpt-4o-mini"))

    assert info.known
    assert info.price is not None
    assert info.price.input_per_mtok == 0.15
    assert info.price.output_per_mtok == 0.6
    assert info.price.cached_input_per_mtok == 0.075


def test_a_dated_model_name_finds_its_family_price(catalogue: Catalogue) -> None:
    info = catalogue.lookup(name("openai/gpt-4o-mini-2024-07-18"))

    assert info.price is not None
    assert info.price.input_per_mtok == 0.15


def test_tiered_prices_are_taken_at_the_base_tier(catalogue: Catalogue) -> None:
    info = catalogue.lookup(name("anthropic/claude-sonnet-4-5"))

    assert info.price is not None
    assert (info.price.input_per_mtok, info.price.output_per_mtok) == (3.0, 15.0)
    assert info.price.cached_input_per_mtok == 0.3


def test_gemini_prices_come_from_google(catalogue: Catalogue) -> None:
    info = catalogue.lookup(name("gemini/gemini-2.5-flash"))

    assert info.price is not None
    assert (info.price.input_per_mtok, info.price.output_per_mtok) == (0.3, 2.5)


def test_a_price_that_changed_on_a_date_says_since_when(catalogue: Catalogue) -> None:
    info = catalogue.lookup(name("openai/o3"))

    assert info.price is not None
    assert info.price.effective_from is not None
    assert info.price.effective_from.year >= 2025


def test_embedding_models_have_an_input_price_and_no_output(catalogue: Catalogue) -> None:
    info = catalogue.lookup(name("openai/text-embedding-3-small"))

    assert info.price is not None
    assert info.price.input_per_mtok == 0.02
    assert info.price.output_per_mtok == 0
    assert info.capabilities.embeddings
    assert not info.capabilities.streaming


@pytest.mark.parametrize(
    "raw",
    [
        "openai/gpt-nonexistent-9",
        "ollama/llama3.2",
        "vllm/meta-llama/Llama-3-8B",
        "custom/anything",
        "anthropic/not-a-claude",
    ],
)
def test_an_unknown_model_has_no_price_and_default_capabilities(
    catalogue: Catalogue, raw: str
) -> None:
    info = catalogue.lookup(name(raw))

    assert info.price is None
    assert not info.known
    assert info.capabilities == Capabilities()
    assert info.name == name(raw)


# -- capabilities ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "vision", "tools", "window", "max_output"),
    [
        ("openai/gpt-4o", True, True, 128_000, 16_384),
        ("openai/gpt-4.1-mini", True, True, 1_047_576, 32_768),
        ("openai/gpt-5-nano", True, True, 400_000, 128_000),
        ("openai/o1-mini", False, False, 128_000, 65_536),
        ("openai/o3-mini", False, True, 200_000, 100_000),
        ("openai/gpt-3.5-turbo", False, True, 16_385, 4_096),
        ("anthropic/claude-sonnet-4-5", True, True, 200_000, 64_000),
        ("anthropic/claude-3-5-haiku-latest", True, True, 200_000, 8_192),
        ("gemini/gemini-2.5-pro", True, True, 1_048_576, 65_536),
        ("gemini/gemini-2.0-flash", True, True, 1_048_576, 8_192),
    ],
)
def test_model_families_have_their_capabilities(
    catalogue: Catalogue, raw: str, vision: bool, tools: bool, window: int, max_output: int
) -> None:
    caps = catalogue.lookup(name(raw)).capabilities

    assert (caps.vision, caps.tools, caps.context_window, caps.max_output_tokens) == (
        vision,
        tools,
        window,
        max_output,
    )
    assert caps.streaming
    assert not caps.embeddings


def test_lookups_are_cached(catalogue: Catalogue) -> None:
    first = catalogue.lookup(name("openai/gpt-4o"))

    assert catalogue.lookup(name("openai/gpt-4o")) is first


def test_models_lists_a_providers_catalogue(catalogue: Catalogue) -> None:
    listed = catalogue.models(Provider.ANTHROPIC)

    assert name("anthropic/claude-sonnet-4-5") in [m.name for m in listed]
    assert all(m.name.provider is Provider.ANTHROPIC and m.known for m in listed)
    assert all(m.price is not None for m in listed)
    assert catalogue.models(Provider.OLLAMA) == []


# -- operator overrides --------------------------------------------------------------------------


def test_an_override_prices_and_describes_a_custom_model(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "custom/foo": {
                "input_per_mtok": 0.1,
                "output_per_mtok": 0.2,
                "cached_input_per_mtok": 0.05,
                "context_window": 8192,
                "max_output_tokens": 2048,
                "vision": False,
                "tools": True,
                "json": True,
                "streaming": True,
                "embeddings": False,
            }
        },
    )

    info = Catalogue(path).lookup(name("custom/foo"))

    assert info.known
    assert info.price == Price(input_per_mtok=0.1, output_per_mtok=0.2, cached_input_per_mtok=0.05)
    assert info.capabilities == Capabilities(
        vision=False,
        tools=True,
        json=True,
        streaming=True,
        context_window=8192,
        max_output_tokens=2048,
        embeddings=False,
    )


def test_an_override_wins_over_genai_prices_and_the_families(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"openai/gpt-4o-mini": {"input_per_mtok": 1, "output_per_mtok": 2, "context_window": 1000}},
    )

    info = Catalogue(path).lookup(name("openai/gpt-4o-mini"))

    assert info.price is not None
    assert (info.price.input_per_mtok, info.price.output_per_mtok) == (1, 2)
    assert info.price.cached_input_per_mtok is None
    assert info.capabilities.context_window == 1000
    assert info.capabilities.vision  # untouched capabilities keep the family's value


def test_a_capability_override_leaves_the_price_alone(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"openai/gpt-4o-mini": {"vision": False}, "ollama/llama3.2": {"context_window": 131072}},
    )
    catalogue = Catalogue(path)

    priced = catalogue.lookup(name("openai/gpt-4o-mini"))
    local = catalogue.lookup(name("ollama/llama3.2"))

    assert priced.price is not None
    assert priced.price.input_per_mtok == 0.15
    assert not priced.capabilities.vision
    assert local.known
    assert local.price is None  # described, still unpriced: never taken as free
    assert local.capabilities.context_window == 131072


def test_a_cached_rate_override_adjusts_the_catalogue_price(tmp_path: Path) -> None:
    path = write(tmp_path, {"openai/gpt-4o": {"cached_input_per_mtok": 0.5}})

    info = Catalogue(path).lookup(name("openai/gpt-4o"))

    assert info.price is not None
    assert (info.price.input_per_mtok, info.price.cached_input_per_mtok) == (2.5, 0.5)


def test_an_explicit_zero_price_makes_a_local_model_free(tmp_path: Path) -> None:
    path = write(tmp_path, {"ollama/llama3.2": {"input_per_mtok": 0, "output_per_mtok": 0}})

    info = Catalogue(path).lookup(name("ollama/llama3.2"))

    assert info.price == Price(input_per_mtok=0, output_per_mtok=0)
    assert info.price.cost_micros(Usage(input_tokens=10**6, output_tokens=10**6)) == 0


def test_override_models_are_listed_with_their_provider(tmp_path: Path) -> None:
    path = write(tmp_path, {"ollama/llama3.2": {"tools": False}, "ollama/mistral": {"tools": True}})

    listed = Catalogue(path).models(Provider.OLLAMA)

    assert [str(m.name) for m in listed] == ["ollama/llama3.2", "ollama/mistral"]


@pytest.mark.parametrize(
    "models",
    [
        {"not-a-provider/foo": {}},
        {"nomodel": {}},
        {"custom/foo": {"input_per_mtok": 0.1}},
        {"custom/foo": {"output_per_mtok": 0.1}},
        {"custom/foo": {"input_per_mtok": -1, "output_per_mtok": 1}},
        {"custom/foo": {"input_per_mtokens": 0.1}},
        {"custom/foo": {"vision": "yes"}},
    ],
)
def test_a_bad_override_file_fails_at_start(tmp_path: Path, models: dict[str, object]) -> None:
    path = write(tmp_path, models)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="atalogue"):
        Catalogue(path)


def test_an_embedding_override_may_price_input_alone(tmp_path: Path) -> None:
    path = write(tmp_path, {"custom/embed": {"input_per_mtok": 0.01, "embeddings": True}})

    info = Catalogue(path).lookup(name("custom/embed"))

    assert info.price == Price(input_per_mtok=0.01, output_per_mtok=0.0)
    assert info.capabilities.embeddings


def test_a_missing_override_file_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unreadable"):
        Catalogue(tmp_path / "nope.json")


# -- Price arithmetic -----------------------------------------------------------------------------

# Prices as published: dollars per MTok with up to 4 decimals (genai-prices' finest is 0.0375).
rates = st.decimals(min_value=0, max_value=200, places=4, allow_nan=False, allow_infinity=False)
tokens = st.integers(min_value=0, max_value=10_000_000)


def exact_cost(
    usage: Usage, input_rate: Decimal, output_rate: Decimal, cached_rate: Decimal | None
) -> Fraction:
    cached = min(usage.cached_tokens, usage.input_tokens)
    cached_price = Fraction(input_rate if cached_rate is None else cached_rate)
    return (
        (usage.input_tokens - cached) * Fraction(input_rate)
        + cached * cached_price
        + usage.output_tokens * Fraction(output_rate)
    )


@given(
    input_rate=rates,
    output_rate=rates,
    cached_rate=st.none() | rates,
    input_tokens=tokens,
    output_tokens=tokens,
    cached_tokens=tokens,
)
def test_cost_never_undercounts_and_rounds_up_by_less_than_a_micro_dollar(
    input_rate: Decimal,
    output_rate: Decimal,
    cached_rate: Decimal | None,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int,
) -> None:
    price = Price(
        input_per_mtok=float(input_rate),
        output_per_mtok=float(output_rate),
        cached_input_per_mtok=None if cached_rate is None else float(cached_rate),
    )
    usage = Usage(
        input_tokens=input_tokens, output_tokens=output_tokens, cached_tokens=cached_tokens
    )

    cost = price.cost_micros(usage)
    exact = exact_cost(usage, input_rate, output_rate, cached_rate)

    assert cost >= exact
    assert cost - exact < 1 + Fraction(1, 10**6)


@given(
    input_rate=rates,
    output_rate=rates,
    cached_rate=st.none() | rates,
    input_tokens=tokens,
    output_tokens=tokens,
    more_input=tokens,
    more_output=tokens,
    cached_tokens=tokens,
)
def test_cost_is_monotone_in_tokens(
    input_rate: Decimal,
    output_rate: Decimal,
    cached_rate: Decimal | None,
    input_tokens: int,
    output_tokens: int,
    more_input: int,
    more_output: int,
    cached_tokens: int,
) -> None:
    price = Price(
        input_per_mtok=float(input_rate),
        output_per_mtok=float(output_rate),
        cached_input_per_mtok=None if cached_rate is None else float(cached_rate),
    )
    small = Usage(
        input_tokens=input_tokens, output_tokens=output_tokens, cached_tokens=cached_tokens
    )
    large = Usage(
        input_tokens=input_tokens + more_input,
        output_tokens=output_tokens + more_output,
        cached_tokens=cached_tokens,
    )

    assert price.cost_micros(large) >= price.cost_micros(small)


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("openai", "gpt-4o-mini"),
        ("openai", "gpt-4.1-2025-04-14"),
        ("openai", "text-embedding-3-small"),
        ("anthropic", "claude-sonnet-4-5"),
        ("anthropic", "claude-3-5-haiku-latest"),
        ("google", "gemini-2.5-flash"),
        ("google", "gemini-2.5-pro"),
    ],
)
def test_the_extracted_prices_match_the_bundled_snapshot(provider: str, model: str) -> None:
    """The catalogue reads genai-prices in a child process (to spare the
    process ~65 MB): it must find exactly what the full snapshot finds."""
    ours = bundled_prices().find_provider_model(model, None, provider, None)
    full = data_snapshot.get_snapshot().find_provider_model(model, None, provider, None)
    assert (ours[0].id, ours[1].id) == (full[0].id, full[1].id)
    now = datetime.now(UTC)
    assert ours[1].get_prices(now) == full[1].get_prices(now)
