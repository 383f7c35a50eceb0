"""The gateway's call path with in-memory fakes of every port: which targets
are tried in which order, what is retried, what is held and settled, and what
is recorded, for plain and streamed calls."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest

from application.common.tenancy import WorkspaceActor
from application.llm.accounting import Accounting, CallOrigin
from application.llm.attempts import AttemptRunner
from application.llm.complete_chat import CompleteChat
from application.llm.create_embeddings import CreateEmbeddings
from application.llm.endpoints import EndpointResolver
from application.llm.governor import Governor
from application.llm.health import TargetHealth
from application.llm.retry import RetryPolicy
from application.llm.settings import LlmSettings, OperatorEndpoint
from application.llm.stream_chat import StreamChat
from application.llm.targets import ResolveTargets, RouteCache
from application.ports.llm_credentials import CredentialLookup
from application.ports.llm_governance import PolicyLookup
from application.ports.llm_routes import RouteLookup
from domain.identity.api_key import ApiKeyId
from domain.identity.ids import UserId
from domain.llm.chat import ChatRequest, EmbeddingRequest, Message, Role, Tool
from domain.llm.credential import Credential
from domain.llm.errors import (
    BudgetExceeded,
    ContextTooLong,
    LimitExceeded,
    ModelLacksCapability,
    ModelNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
    UnpricedModelRefused,
)
from domain.llm.governance import Budget, BudgetPeriod, Limits, Policy
from domain.llm.ids import RouteId
from domain.llm.models import Capabilities, Price, Provider
from domain.llm.route import Route, RouteTarget, Strategy
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Role as MemberRole
from domain.tenancy.roles import permissions_of
from tests.fakes.llm import CountingMetrics, Fail, FakeCatalogue, Hang, ListSink, ScriptedModels
from tests.fakes.llm_governance import (
    FakeSpendHistory,
    InMemoryCallLimiter,
    InMemorySpendLedger,
    SequentialGate,
)
from tests.fakes.system import FakeClock, SequentialIds

WORKSPACE = WorkspaceId(uuid.UUID(int=1))
KEY = ApiKeyId(uuid.UUID(int=2))
PRICE = Price(input_per_mtok=1.0, output_per_mtok=2.0)


class NoCredentials(CredentialLookup):
    async def of_workspace(self, workspace_id: WorkspaceId) -> list[Credential]:
        return []


class FixedPolicy(PolicyLookup):
    def __init__(self) -> None:
        self.value = Policy()

    async def policy(self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None) -> Policy:
        return self.value


@dataclass
class Routes(RouteLookup):
    routes: dict[str, Route] = field(default_factory=dict)

    async def by_name(self, workspace_id: WorkspaceId, name: str) -> Route | None:
        return self.routes.get(name)

    async def of_workspace(self, workspace_id: WorkspaceId) -> list[Route]:
        return list(self.routes.values())

    def add(self, name: str, *models: str, fallback_on: frozenset[str] | None = None) -> None:
        now = datetime.now(UTC)
        self.routes[name] = Route(
            id=RouteId(uuid.uuid4()),
            workspace_id=WORKSPACE,
            name=name,
            strategy=Strategy.PRIORITY,
            targets=tuple(RouteTarget(model=m, priority=i) for i, m in enumerate(models)),
            fallback_on=fallback_on
            or frozenset({"rate_limited", "server_error", "timeout", "overloaded"}),
            created_by=None,
            created_at=now,
            updated_at=now,
        )


class World:
    def __init__(self) -> None:
        self.settings = LlmSettings(
            operator_endpoints={
                p: OperatorEndpoint(provider=p, base_url=f"https://{p.value}.test", api_key="k")
                for p in (Provider.OPENAI, Provider.ANTHROPIC)
            },
            attempt_timeout_seconds=0.2,
            request_deadline_seconds=2.0,
            backoff_base_seconds=0.001,
            backoff_max_seconds=0.01,
            breaker_failure_threshold=3,
            policy_cache_seconds=0,
        )
        self.models = ScriptedModels()
        self.catalogue = FakeCatalogue(
            {
                "openai/priced": (Capabilities(max_output_tokens=100), PRICE),
                "openai/no-tools": (Capabilities(tools=False), PRICE),
                "openai/embed": (Capabilities(embeddings=True), PRICE),
            }
        )
        self.routes = Routes()
        self.policy = FixedPolicy()
        self.sink = ListSink()
        self.metrics = CountingMetrics()
        self.ledger = InMemorySpendLedger(FakeSpendHistory(), clock=time.time)
        self.limiter = InMemoryCallLimiter(clock=time.time)
        self.health = TargetHealth.from_settings(self.settings)
        governor = Governor(
            self.policy, SequentialGate(self.limiter, self.ledger), self.settings, FakeClock()
        )
        targets = ResolveTargets(self.catalogue, self.routes, RouteCache(0))
        runner = AttemptRunner(
            EndpointResolver(NoCredentials(), _NoCipher(), _NoGuard(), self.settings),
            self.health,
            RetryPolicy.from_settings(self.settings),
            self.settings,
            self.metrics,
        )
        accounting = Accounting(governor, self.sink, self.metrics, SequentialIds(), FakeClock())
        self.complete = CompleteChat(targets, governor, runner, self.models, accounting)
        self.stream = StreamChat(targets, governor, runner, self.models, accounting)
        self.embed = CreateEmbeddings(targets, governor, runner, self.models, accounting)
        self.actor = WorkspaceActor(
            workspace_id=WORKSPACE,
            user_id=UserId(uuid.UUID(int=3)),
            role=MemberRole.MEMBER,
            permissions=permissions_of(MemberRole.MEMBER),
            api_key_id=KEY,
        )

    def budget(self, micros: int) -> None:
        self.policy.value = replace(
            self.policy.value,
            budgets=(
                Budget(
                    workspace_id=WORKSPACE,
                    api_key_id=None,
                    limit_micros=micros,
                    period=BudgetPeriod.DAY,
                ),
            ),
        )


class _NoCipher:
    def encrypt(self, plaintext: str, *, associated_data: bytes) -> object:
        raise AssertionError("no credential is stored in these tests")

    def decrypt(self, secret: object, *, associated_data: bytes) -> str:
        raise AssertionError("no credential is stored in these tests")


class _NoGuard:
    async def check(self, url: str) -> str:
        return url


def ask(model: str, text: str = "hello", **extra: object) -> ChatRequest:
    return ChatRequest(model=model, messages=(Message(role=Role.USER, content=text),), **extra)  # type: ignore[arg-type]


ORIGIN = CallOrigin(request_id="req-1")


@pytest.fixture
def world() -> World:
    return World()


async def test_a_direct_call_goes_to_the_operator_endpoint_and_is_recorded(world: World) -> None:
    result = await world.complete.execute(world.actor, ask("openai/priced"), ORIGIN)
    assert result.response.content == "echo: hello"
    [call] = world.models.calls
    assert call.model == "priced" and call.endpoint.base_url == "https://openai.test"
    [record] = world.sink.records
    assert record.status == "ok" and record.model == "openai/priced"
    assert record.cost_micros == 10 * 1 + 5 * 2  # usage 10 in, 5 out
    assert record.request_id == "req-1" and record.api_key_id == KEY


async def test_an_unknown_model_is_recorded_with_cost_unknown(world: World) -> None:
    await world.complete.execute(world.actor, ask("openai/mystery"), ORIGIN)
    [record] = world.sink.records
    assert record.cost_micros is None
    assert world.metrics.unpriced == ["openai/mystery"]


async def test_retries_the_same_target_then_falls_back(world: World) -> None:
    world.routes.add("smart", "openai/first", "anthropic/second")
    world.models.script("first", [Fail(ProviderUnavailable()), Fail(ProviderUnavailable())])
    result = await world.complete.execute(world.actor, ask("smart"), ORIGIN)
    assert str(result.model) == "anthropic/second"
    assert [c.model for c in world.models.calls] == ["first", "first", "second"]
    [record] = world.sink.records
    assert [a.error for a in record.attempts] == [
        "upstream_unavailable",
        "upstream_unavailable",
        None,
    ]
    assert record.route_name == "smart"


async def test_a_long_retry_after_moves_to_the_next_target_at_once(world: World) -> None:
    world.routes.add("r", "openai/first", "openai/second")
    world.models.script("first", [Fail(ProviderRateLimited(retry_after=60))])
    await world.complete.execute(world.actor, ask("r"), ORIGIN)
    assert [c.model for c in world.models.calls] == ["first", "second"]


async def test_a_request_error_is_the_answer_at_once(world: World) -> None:
    world.routes.add("r", "openai/first", "openai/second")
    world.models.script("first", [Fail(ContextTooLong())])
    with pytest.raises(ContextTooLong):
        await world.complete.execute(world.actor, ask("r"), ORIGIN)
    assert [c.model for c in world.models.calls] == ["first"]
    assert world.sink.records[0].status == "context_length_exceeded"


async def test_only_the_listed_kinds_fall_back(world: World) -> None:
    world.routes.add("r", "openai/first", "openai/second", fallback_on=frozenset({"timeout"}))
    world.models.script("first", [Fail(ProviderUnavailable())])
    with pytest.raises(ProviderUnavailable):
        await world.complete.execute(world.actor, ask("r"), ORIGIN)


async def test_a_hung_attempt_times_out_and_falls_back(world: World) -> None:
    world.routes.add("r", "openai/slow", "openai/fast")
    world.models.script("slow", [Hang(), Hang()])
    started = time.perf_counter()
    result = await asyncio.wait_for(world.complete.execute(world.actor, ask("r"), ORIGIN), 5)
    assert str(result.model) == "openai/fast"
    assert time.perf_counter() - started < 1.5


async def test_the_breaker_opens_after_consecutive_failures(world: World) -> None:
    world.models.script("flaky", [Fail(ProviderUnavailable())] * 10)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await world.complete.execute(world.actor, ask("openai/flaky"), ORIGIN)
    assert len(world.models.calls) == 3  # 2 + 1: the third failure opened it
    assert world.sink.records[-1].status == "circuit_open"


async def test_targets_lacking_a_capability_are_skipped(world: World) -> None:
    world.routes.add("r", "openai/no-tools", "openai/priced")
    tools = (Tool(name="lookup"),)
    result = await world.complete.execute(world.actor, ask("r", tools=tools), ORIGIN)
    assert str(result.model) == "openai/priced"
    with pytest.raises(ModelLacksCapability):
        await world.complete.execute(world.actor, ask("openai/no-tools", tools=tools), ORIGIN)


async def test_unknown_names_are_not_found(world: World) -> None:
    with pytest.raises(ModelNotFound):
        await world.complete.execute(world.actor, ask("no-such-route"), ORIGIN)
    assert world.models.calls == []


async def test_a_budget_holds_the_worst_case_and_settles_the_real_cost(world: World) -> None:
    # worst case: 8 + (8 + 5) input bytes at 1 µ$ + 100 output (the model's limit) at 2 µ$
    world.budget(221)
    await world.complete.execute(world.actor, ask("openai/priced"), ORIGIN)
    assert world.models.calls[0].request.max_tokens == 100  # capped at what was reserved
    world.budget(220)
    with pytest.raises(BudgetExceeded):
        await world.complete.execute(world.actor, ask("openai/priced"), ORIGIN)


async def test_refusing_unpriced_models(world: World) -> None:
    world.policy.value = Policy(refuse_unpriced_models=True)
    with pytest.raises(UnpricedModelRefused):
        await world.complete.execute(world.actor, ask("openai/mystery"), ORIGIN)
    world.routes.add("mixed", "openai/mystery", "openai/priced")
    result = await world.complete.execute(world.actor, ask("mixed"), ORIGIN)
    assert str(result.model) == "openai/priced"


async def test_a_concurrency_limit_is_released_after_each_call(world: World) -> None:
    world.policy.value = Policy(workspace_limits=Limits(max_concurrent=1))
    world.models.script("slow", [Hang()])
    slow = asyncio.ensure_future(world.complete.execute(world.actor, ask("openai/slow"), ORIGIN))
    await asyncio.sleep(0.05)
    with pytest.raises(LimitExceeded):
        await world.complete.execute(world.actor, ask("openai/priced"), ORIGIN)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert world.sink.records[-1].status == "client_closed"
    await world.complete.execute(world.actor, ask("openai/priced"), ORIGIN)  # the slot is free


async def test_a_stream_falls_back_before_its_first_chunk(world: World) -> None:
    world.routes.add("r", "openai/first", "openai/second")
    world.models.script("first", [Fail(ProviderUnavailable(), after_chunks=0)] * 2)
    opened = await world.stream.execute(world.actor, ask("r", text="a b"), ORIGIN)
    text = "".join([chunk.text async for chunk in opened])
    assert text == "echo: a b"
    assert str(opened.model) == "openai/second"
    assert opened.record is not None and opened.record.status == "ok"


async def test_a_stream_failing_after_its_first_chunk_ends_with_the_error(world: World) -> None:
    world.models.script("drops", [Fail(ProviderUnavailable(), after_chunks=1)])
    opened = await world.stream.execute(world.actor, ask("openai/drops", text="a b c"), ORIGIN)
    received: list[str] = []

    async def drain() -> None:
        async for chunk in opened:
            received.append(chunk.text)

    with pytest.raises(ProviderUnavailable):
        await drain()
    assert received == ["echo:"]
    assert world.sink.records[-1].status == "upstream_unavailable"
    assert world.models.closed_streams == 1


async def test_a_stream_left_early_closes_the_upstream_and_is_recorded(world: World) -> None:
    opened = await world.stream.execute(world.actor, ask("openai/priced", text="a b c"), ORIGIN)
    iterator = aiter(opened)
    await anext(iterator)
    await iterator.aclose()  # type: ignore[attr-defined]
    assert world.models.closed_streams == 1
    assert world.sink.records[-1].status == "client_closed"


async def test_embeddings_need_a_model_that_embeds(world: World) -> None:
    result = await world.embed.execute(
        world.actor, EmbeddingRequest(model="openai/embed", inputs=("a", "bb")), ORIGIN
    )
    assert len(result.response.vectors) == 2
    with pytest.raises(ModelLacksCapability):
        await world.embed.execute(
            world.actor, EmbeddingRequest(model="openai/priced", inputs=("a",)), ORIGIN
        )
    await world.embed.execute(
        world.actor, EmbeddingRequest(model="openai/unknown-embedder", inputs=("a",)), ORIGIN
    )
