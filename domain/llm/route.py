"""A route: a name usable wherever a model name is, over several targets.

Every rule a route must keep lives here, so a route read back from storage,
created or changed through any entrypoint, is valid by construction. Errors
name the offending field the way a JSON body spells it (``targets[2].model``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from domain.identity.ids import UserId
from domain.llm.errors import ALL_KINDS, FALLBACK_KINDS, InvalidRoute
from domain.llm.ids import CredentialId, RouteId
from domain.llm.models import ModelName
from domain.tenancy.ids import WorkspaceId


class Strategy(StrEnum):
    PRIORITY = "priority"  # a fallback chain, lowest priority number first
    WEIGHTED = "weighted"  # random by weight, the rest as fallbacks
    LEAST_LATENCY = "least_latency"
    LOWEST_COST = "lowest_cost"


MAX_NAME_LENGTH = 64
# No "/": a route's name can never be read as ``provider/model``.
NAME_PATTERN = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_NAME_LENGTH}}}")
MAX_TARGETS = 16
MAX_MODEL_LENGTH = 256
MIN_WEIGHT, MAX_WEIGHT, DEFAULT_WEIGHT = 1, 1000, 1
MIN_PRIORITY, MAX_PRIORITY, DEFAULT_PRIORITY = -1000, 1000, 0
DEFAULT_FALLBACK_ON = frozenset(FALLBACK_KINDS)


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteTarget:
    model: str  # provider/model
    credential_id: CredentialId | None = None
    weight: int = DEFAULT_WEIGHT
    priority: int = DEFAULT_PRIORITY


def parse_route_name(raw: str) -> str:
    name = raw.strip()
    if NAME_PATTERN.fullmatch(name) is None:
        raise InvalidRoute(
            f"name must be 1 to {MAX_NAME_LENGTH} characters of letters, digits and . _ : - "
            "(no '/', so it never reads as provider/model).",
            field="name",
        )
    return name


def parse_strategy(raw: str) -> Strategy:
    try:
        return Strategy(raw.strip())
    except ValueError:
        known = ", ".join(s.value for s in Strategy)
        raise InvalidRoute(f"strategy must be one of: {known}.", field="strategy") from None


def _target(index: int, target: RouteTarget) -> RouteTarget:
    at = f"targets[{index}]"
    model = target.model.strip()
    if (
        len(model) > MAX_MODEL_LENGTH
        or any(c.isspace() or not c.isprintable() for c in model)
        or ModelName.parse(model) is None
    ):
        raise InvalidRoute(
            f"{at}.model must be 'provider/model' with a known provider "
            f"(at most {MAX_MODEL_LENGTH} characters, no spaces).",
            field=f"{at}.model",
        )
    if (
        isinstance(target.weight, bool)
        or not isinstance(target.weight, int)
        or not MIN_WEIGHT <= target.weight <= MAX_WEIGHT
    ):
        raise InvalidRoute(
            f"{at}.weight must be an integer from {MIN_WEIGHT} to {MAX_WEIGHT}.",
            field=f"{at}.weight",
        )
    if (
        isinstance(target.priority, bool)
        or not isinstance(target.priority, int)
        or not MIN_PRIORITY <= target.priority <= MAX_PRIORITY
    ):
        raise InvalidRoute(
            f"{at}.priority must be an integer from {MIN_PRIORITY} to {MAX_PRIORITY}.",
            field=f"{at}.priority",
        )
    return replace(target, model=str(ModelName.require(model)))


def parse_targets(raw: Sequence[RouteTarget]) -> tuple[RouteTarget, ...]:
    """1 to 16 valid targets, no two with the same model and credential."""
    if not 1 <= len(raw) <= MAX_TARGETS:
        raise InvalidRoute(f"targets must list 1 to {MAX_TARGETS} targets.", field="targets")
    targets = tuple(_target(i, t) for i, t in enumerate(raw))
    seen: dict[tuple[str, CredentialId | None], int] = {}
    for i, target in enumerate(targets):
        first = seen.setdefault((target.model, target.credential_id), i)
        if first != i:
            raise InvalidRoute(
                f"targets[{i}] repeats targets[{first}] (same model and credential).",
                field=f"targets[{i}]",
            )
    return targets


def parse_fallback_on(raw: Iterable[str] | None) -> frozenset[str]:
    """The error kinds that move a call to the next target; all four by default."""
    if raw is None:
        return DEFAULT_FALLBACK_ON
    kinds = frozenset(raw)
    unknown = sorted(kinds - set(ALL_KINDS))
    if unknown:
        raise InvalidRoute(
            f"fallback_on may list only: {', '.join(ALL_KINDS)} (not {', '.join(unknown)}).",
            field="fallback_on",
        )
    return kinds


def ordered_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """Error kinds in their canonical order, for display and storage."""
    chosen = set(kinds)
    return tuple(k for k in ALL_KINDS if k in chosen)


@dataclass(slots=True, kw_only=True)
class Route:
    id: RouteId
    workspace_id: WorkspaceId
    name: str
    strategy: Strategy
    targets: tuple[RouteTarget, ...]
    fallback_on: frozenset[str]
    created_by: UserId | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def create(
        cls,
        *,
        id: RouteId,
        workspace_id: WorkspaceId,
        name: str,
        strategy: str,
        targets: Sequence[RouteTarget],
        fallback_on: Iterable[str] | None = None,
        created_by: UserId | None,
        now: datetime,
    ) -> Route:
        return cls(
            id=id,
            workspace_id=workspace_id,
            name=parse_route_name(name),
            strategy=parse_strategy(strategy),
            targets=parse_targets(targets),
            fallback_on=parse_fallback_on(fallback_on),
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )

    def update(
        self,
        *,
        now: datetime,
        name: str | None = None,
        strategy: str | None = None,
        targets: Sequence[RouteTarget] | None = None,
        fallback_on: Iterable[str] | None = None,
    ) -> list[str]:
        """Change what is given (None: keep it), all or nothing; the names of
        the fields whose value changed."""
        new_name = self.name if name is None else parse_route_name(name)
        new_strategy = self.strategy if strategy is None else parse_strategy(strategy)
        new_targets = self.targets if targets is None else parse_targets(targets)
        new_fallback = self.fallback_on if fallback_on is None else parse_fallback_on(fallback_on)
        changed = [
            field
            for field, old, new in (
                ("name", self.name, new_name),
                ("strategy", self.strategy, new_strategy),
                ("targets", self.targets, new_targets),
                ("fallback_on", self.fallback_on, new_fallback),
            )
            if old != new
        ]
        if changed:
            self.name = new_name
            self.strategy = new_strategy
            self.targets = new_targets
            self.fallback_on = new_fallback
            self.updated_at = now
        return changed

    def credential_ids(self) -> frozenset[CredentialId]:
        return frozenset(t.credential_id for t in self.targets if t.credential_id is not None)
