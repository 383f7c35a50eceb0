"""Response bodies of the native gateway's listings."""

from __future__ import annotations

import msgspec

from application.queries.llm.list_models import ModelView
from application.queries.llm.list_providers import ProviderView


class CapabilitiesOut(msgspec.Struct, kw_only=True):
    streaming: bool
    tools: bool
    vision: bool
    json: bool
    embeddings: bool
    context_window: int | None
    max_output_tokens: int | None


class PriceOut(msgspec.Struct, kw_only=True):
    """USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None
    effective_from: str | None


class ModelOut(msgspec.Struct, kw_only=True):
    id: str
    kind: str
    provider: str | None
    source: str
    capabilities: CapabilitiesOut | None
    price: PriceOut | None  # null: unknown, and calls are recorded with cost unknown


class TargetOut(msgspec.Struct, kw_only=True):
    model: str
    breaker: str
    latency_ms: float | None


class ProviderOut(msgspec.Struct, kw_only=True):
    provider: str
    source: str
    credential_ids: list[str]
    status: str
    targets: list[TargetOut]


def model_out(view: ModelView) -> ModelOut:
    caps = view.capabilities
    price = view.price
    return ModelOut(
        id=view.id,
        kind=view.kind,
        provider=view.provider,
        source=view.source,
        capabilities=None
        if caps is None
        else CapabilitiesOut(
            streaming=caps.streaming,
            tools=caps.tools,
            vision=caps.vision,
            json=caps.json,
            embeddings=caps.embeddings,
            context_window=caps.context_window,
            max_output_tokens=caps.max_output_tokens,
        ),
        price=None
        if price is None
        else PriceOut(
            input_per_mtok=price.input_per_mtok,
            output_per_mtok=price.output_per_mtok,
            cached_input_per_mtok=price.cached_input_per_mtok,
            effective_from=price.effective_from.isoformat() if price.effective_from else None,
        ),
    )


def provider_out(view: ProviderView) -> ProviderOut:
    return ProviderOut(
        provider=view.provider,
        source=view.source,
        credential_ids=list(view.credential_ids),
        status=view.status,
        targets=[
            TargetOut(model=t.model, breaker=t.breaker, latency_ms=t.latency_ms)
            for t in view.targets
        ],
    )
