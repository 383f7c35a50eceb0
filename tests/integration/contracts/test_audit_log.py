"""AuditLog: RecordingAuditLog and SqlAuditLog keep the same entries."""

from __future__ import annotations

import pytest

from domain.audit.entry import ActorType, AuditAction, AuditEvent
from tests.integration.contracts.storage import Backend, stored_user

pytestmark = pytest.mark.integration


def event(action: AuditAction = AuditAction.LOGOUT) -> AuditEvent:
    return AuditEvent(action=action, actor_type=ActorType.ANONYMOUS, metadata={"n": 1})


async def test_a_recorded_entry_is_kept_with_the_commit(backend: Backend) -> None:
    async with backend.unit() as unit:
        await unit.audit.record(event(AuditAction.LOGOUT))
        await unit.tx.commit()
    assert await backend.audited_actions() == ["auth.logout"]


async def test_a_recorded_entry_goes_with_a_rolled_back_change(backend: Backend) -> None:
    async with backend.unit() as unit:
        await unit.audit.record(event())
    assert await backend.audited_actions() == []


async def test_an_entry_recorded_now_survives_the_rollback(backend: Backend) -> None:
    async with backend.unit() as unit:
        await unit.audit.record(event(AuditAction.LOGOUT))
        await unit.audit.record_now(event(AuditAction.LOGIN_FAILED))
    assert await backend.audited_actions() == ["auth.login_failed"]


async def test_entries_keep_their_order(backend: Backend) -> None:
    await stored_user(backend)
    async with backend.unit() as unit:
        await unit.audit.record(event(AuditAction.LOGIN_SUCCEEDED))
        await unit.audit.record(event(AuditAction.PASSWORD_CHANGED))
        await unit.tx.commit()
    async with backend.unit() as unit:
        await unit.audit.record_now(event(AuditAction.LOGIN_FAILED))
    assert await backend.audited_actions() == [
        "auth.login_succeeded",
        "auth.password_changed",
        "auth.login_failed",
    ]
