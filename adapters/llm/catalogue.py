"""What each model can do and what it costs.

Three sources, the later winning: a built-in table of model families
(capabilities, context windows, output limits), prices from the maintained
``genai-prices`` package (the price in effect now), and the operator's
overrides from an optional JSON file::

    {"models": {"custom/foo": {"input_per_mtok": 0.1, "output_per_mtok": 0.2,
                               "cached_input_per_mtok": 0.05, "context_window": 8192,
                               "max_output_tokens": 2048, "vision": false, "tools": true,
                               "json": true, "streaming": true, "embeddings": false}}}

A model none of them knows gets default capabilities, ``known=False`` and no
price (never a price of 0). Tiered prices (a higher rate above some prompt
size, e.g. Claude Sonnet 4.5 or Gemini 2.5 Pro above 200k input tokens) are
taken at their base tier; batch and service-tier variants are ignored. Cache
writes (Anthropic) have no rate of their own in ``Price`` and are charged at
the input rate.
"""

from __future__ import annotations

import dataclasses
import functools
import pickle
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import msgspec
import structlog
from genai_prices import data_snapshot
from genai_prices import types as gp

from application.ports.llm import ModelCatalogue
from domain.llm.models import Capabilities, ModelInfo, ModelName, Price, Provider

# Our providers → genai-prices provider ids (self-hosted ones have no price).
PRICE_PROVIDERS: Mapping[Provider, str] = {
    Provider.OPENAI: "openai",
    Provider.ANTHROPIC: "anthropic",
    Provider.GEMINI: "google",
}

log = structlog.get_logger(__name__)

# Run in a child process: genai-prices' bundled data for every provider it
# knows is built on import and costs ~65 MB that a process would keep for
# good; the providers we price come back pickled, ~1 MB once loaded.
_EXTRACT = """
import pickle, sys
from genai_prices.data import providers
wanted = set(sys.argv[1:])
sys.stdout.buffer.write(pickle.dumps([p for p in providers if p.id in wanted]))
"""


@functools.cache
def bundled_prices() -> data_snapshot.DataSnapshot:
    """The bundled snapshot, restricted to the providers in PRICE_PROVIDERS."""
    try:
        done = subprocess.run(  # noqa: S603 # our interpreter, our code
            [sys.executable, "-c", _EXTRACT, *PRICE_PROVIDERS.values()],
            capture_output=True,
            check=True,
            timeout=120,
        )
        providers = pickle.loads(done.stdout)  # our own child's output  # noqa: S301
    except (OSError, subprocess.SubprocessError, pickle.UnpicklingError) as exc:
        log.warning("llm.catalogue.extract_failed", error=type(exc).__name__)
        return data_snapshot.get_snapshot()
    return data_snapshot.DataSnapshot(providers=providers, from_auto_update=False)


_CHAT = Capabilities(streaming=True, tools=True, vision=False, json=True)
_VISION = dataclasses.replace(_CHAT, vision=True)
_EMBEDDINGS = Capabilities(streaming=False, tools=False, vision=False, json=False, embeddings=True)


def _caps(base: Capabilities, context: int, output: int | None) -> Capabilities:
    return dataclasses.replace(base, context_window=context, max_output_tokens=output)


# Families by name prefix, the most specific first.
FAMILIES: Mapping[Provider, tuple[tuple[str, Capabilities], ...]] = {
    Provider.OPENAI: (
        ("gpt-4o", _caps(_VISION, 128_000, 16_384)),
        ("chatgpt-4o", _caps(_VISION, 128_000, 16_384)),
        ("gpt-4.1", _caps(_VISION, 1_047_576, 32_768)),
        ("gpt-4.5", _caps(_VISION, 128_000, 16_384)),
        ("gpt-5", _caps(_VISION, 400_000, 128_000)),
        ("gpt-4-turbo", _caps(_VISION, 128_000, 4_096)),
        ("gpt-4", _caps(_CHAT, 8_192, 8_192)),
        ("gpt-3.5", _caps(_CHAT, 16_385, 4_096)),
        ("o1-mini", _caps(dataclasses.replace(_CHAT, tools=False), 128_000, 65_536)),
        ("o1", _caps(_VISION, 200_000, 100_000)),
        ("o3-mini", _caps(_CHAT, 200_000, 100_000)),
        ("o3", _caps(_VISION, 200_000, 100_000)),
        ("o4-mini", _caps(_VISION, 200_000, 100_000)),
        ("text-embedding-3", _caps(_EMBEDDINGS, 8_191, None)),
        ("text-embedding-ada", _caps(_EMBEDDINGS, 8_191, None)),
    ),
    Provider.ANTHROPIC: (
        ("claude-opus-4", _caps(_VISION, 200_000, 32_000)),
        ("claude-sonnet-4", _caps(_VISION, 200_000, 64_000)),
        ("claude-haiku-4", _caps(_VISION, 200_000, 64_000)),
        ("claude-3-7-sonnet", _caps(_VISION, 200_000, 64_000)),
        ("claude-3-5", _caps(_VISION, 200_000, 8_192)),
        ("claude-3", _caps(_VISION, 200_000, 4_096)),
        ("claude-", _caps(_VISION, 200_000, 8_192)),
    ),
    Provider.GEMINI: (
        ("gemini-2.5", _caps(_VISION, 1_048_576, 65_536)),
        ("gemini-2.", _caps(_VISION, 1_048_576, 8_192)),
        ("gemini-1.5", _caps(_VISION, 1_048_576, 8_192)),
        ("gemini-embedding", _caps(_EMBEDDINGS, 2_048, None)),
        ("text-embedding-", _caps(_EMBEDDINGS, 2_048, None)),
    ),
}

# The models ``models(provider)`` lists besides the operator's.
LISTED: Mapping[Provider, tuple[str, ...]] = {
    Provider.OPENAI: (
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "o1",
        "o3",
        "o3-mini",
        "o4-mini",
        "gpt-3.5-turbo",
        "text-embedding-3-small",
        "text-embedding-3-large",
    ),
    Provider.ANTHROPIC: (
        "claude-opus-4-1",
        "claude-sonnet-4-5",
        "claude-sonnet-4-0",
        "claude-haiku-4-5",
        "claude-3-7-sonnet-latest",
        "claude-3-5-haiku-latest",
    ),
    Provider.GEMINI: (
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gemini-2.0-flash",
        "gemini-embedding-001",
    ),
}

CACHE_SECONDS = 3600.0  # prices change on dates: look them up again every hour
CACHE_MAX = 10_000  # names come from requests; bound what they can fill


class ModelOverride(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    cached_input_per_mtok: float | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    vision: bool | None = None
    tools: bool | None = None
    json: bool | None = None
    streaming: bool | None = None
    embeddings: bool | None = None


class OverrideFile(msgspec.Struct, forbid_unknown_fields=True):
    models: dict[str, ModelOverride] = msgspec.field(default_factory=dict)


def load_overrides(path: str | Path) -> dict[ModelName, ModelOverride]:
    """The operator's file, checked: a typo fails at start-up, not at call time."""
    try:
        parsed = msgspec.json.decode(Path(path).read_bytes(), type=OverrideFile)
    except (OSError, msgspec.DecodeError) as exc:
        raise ValueError(f"The model catalogue file {str(path)!r} is unreadable: {exc}") from exc
    overrides: dict[ModelName, ModelOverride] = {}
    for raw, entry in parsed.models.items():
        name = ModelName.parse(raw)
        if name is None:
            raise ValueError(f"Catalogue entry {raw!r} is not 'provider/model'.")
        rates = (entry.input_per_mtok, entry.output_per_mtok, entry.cached_input_per_mtok)
        if any(rate is not None and rate < 0 for rate in rates):
            raise ValueError(f"Catalogue entry {raw!r} has a negative price.")
        has_input, has_output = entry.input_per_mtok is not None, entry.output_per_mtok is not None
        if (has_output and not has_input) or (
            has_input and not has_output and not entry.embeddings
        ):
            raise ValueError(
                f"Catalogue entry {raw!r} must give input_per_mtok and output_per_mtok together "
                "(an embedding model may give input_per_mtok alone)."
            )
        overrides[name] = entry
    return overrides


class Catalogue(ModelCatalogue):
    def __init__(self, overrides_path: str | Path | None = None) -> None:
        self._overrides = load_overrides(overrides_path) if overrides_path else {}
        self._snapshot = bundled_prices()
        self._cache: dict[ModelName, ModelInfo] = {}
        self._cached_at = time.monotonic()

    def lookup(self, name: ModelName) -> ModelInfo:
        now = time.monotonic()
        if now - self._cached_at > CACHE_SECONDS or len(self._cache) >= CACHE_MAX:
            self._cache.clear()
            self._cached_at = now
        info = self._cache.get(name)
        if info is None:
            info = self._cache[name] = self._build(name)
        return info

    def models(self, provider: Provider) -> list[ModelInfo]:
        names = [ModelName(provider, model) for model in LISTED.get(provider, ())]
        names += sorted(
            (name for name in self._overrides if name.provider is provider and name not in names),
            key=str,
        )
        return [self.lookup(name) for name in names]

    # -- building one entry ---------------------------------------------------------------

    def _build(self, name: ModelName) -> ModelInfo:
        model = name.model.lower().removeprefix("models/")
        family = _family(name.provider, model)
        found = self._priced(name.provider, model)
        capabilities = family or Capabilities()
        price: Price | None = None
        if found is not None:
            price, window = found
            if family is None and window is not None:
                capabilities = dataclasses.replace(capabilities, context_window=window)
        known = family is not None or found is not None
        override = self._overrides.get(name)
        if override is not None:
            known = True
            capabilities = _apply_capabilities(capabilities, override)
            price = _apply_price(price, override)
        return ModelInfo(name=name, capabilities=capabilities, price=price, known=known)

    def _priced(self, provider: Provider, model: str) -> tuple[Price, int | None] | None:
        provider_id = PRICE_PROVIDERS.get(provider)
        if provider_id is None:
            return None
        try:
            _, info = self._snapshot.find_provider_model(model, None, provider_id, None)
        except LookupError:
            return None
        now = datetime.now(UTC)
        prices = info.get_prices(now)
        input_rate = _rate(prices.input_mtok)
        if input_rate is None:
            return None
        output_rate = _rate(prices.output_mtok)
        price = Price(
            input_per_mtok=float(input_rate),
            output_per_mtok=float(output_rate or 0),
            cached_input_per_mtok=_float(_rate(prices.cache_read_mtok)),
            effective_from=_effective_from(info, now),
        )
        return price, info.context_window


def _family(provider: Provider, model: str) -> Capabilities | None:
    for prefix, capabilities in FAMILIES.get(provider, ()):
        if model.startswith(prefix):
            return capabilities
    return None


def _rate(value: Decimal | gp.TieredPrices | None) -> Decimal | None:
    if isinstance(value, gp.TieredPrices):
        return value.base
    return value


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _effective_from(info: gp.ModelInfo, now: datetime) -> datetime | None:
    if isinstance(info.prices, gp.ModelPrice):
        return None
    for conditional in reversed(info.prices):
        constraint = conditional.constraint
        if constraint is None or constraint.active(now):
            if isinstance(constraint, gp.StartDateConstraint):
                start = constraint.start_date
                return datetime(start.year, start.month, start.day, tzinfo=UTC)
            return None
    return None


def _apply_capabilities(base: Capabilities, override: ModelOverride) -> Capabilities:
    changes = {
        field: getattr(override, field)
        for field in (
            "context_window",
            "max_output_tokens",
            "vision",
            "tools",
            "json",
            "streaming",
            "embeddings",
        )
        if getattr(override, field) is not None
    }
    return dataclasses.replace(base, **changes) if changes else base


def _apply_price(base: Price | None, override: ModelOverride) -> Price | None:
    """A full price in the override replaces the catalogue's (a cached rate left
    out means cached input costs the input rate); a cached rate alone adjusts it."""
    if override.input_per_mtok is not None:
        return Price(
            input_per_mtok=override.input_per_mtok,
            output_per_mtok=override.output_per_mtok or 0.0,
            cached_input_per_mtok=override.cached_input_per_mtok,
        )
    if base is not None and override.cached_input_per_mtok is not None:
        return dataclasses.replace(
            base, cached_input_per_mtok=override.cached_input_per_mtok, effective_from=None
        )
    return base
