"""What the audit log records. Entries are facts: written once, never changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID


class AuditAction(StrEnum):
    LOGIN_SUCCEEDED = "auth.login_succeeded"
    LOGIN_FAILED = "auth.login_failed"
    LOGOUT = "auth.logout"
    PASSWORD_CHANGED = "auth.password_changed"
    PASSWORD_RESET = "auth.password_reset"
    REFRESH_TOKEN_REUSE = "auth.refresh_token_reuse_detected"
    WORKSPACE_CREATED = "workspace.created"
    WORKSPACE_RENAMED = "workspace.renamed"
    WORKSPACE_DELETED = "workspace.deleted"
    MEMBER_ADDED = "member.added"
    MEMBER_REMOVED = "member.removed"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    OWNERSHIP_TRANSFERRED = "workspace.ownership_transferred"
    INVITATION_CREATED = "invitation.created"
    INVITATION_ACCEPTED = "invitation.accepted"
    INVITATION_REVOKED = "invitation.revoked"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    LLM_CREDENTIAL_CREATED = "llm.credential_created"
    LLM_CREDENTIAL_DELETED = "llm.credential_deleted"
    LLM_ROUTE_CREATED = "llm.route_created"
    LLM_ROUTE_UPDATED = "llm.route_updated"
    LLM_ROUTE_DELETED = "llm.route_deleted"
    LLM_BUDGET_SET = "llm.budget_set"
    LLM_BUDGET_REMOVED = "llm.budget_removed"
    LLM_LIMITS_SET = "llm.limits_set"
    LLM_LIMITS_REMOVED = "llm.limits_removed"
    LLM_SETTINGS_CHANGED = "llm.settings_changed"


class ActorType(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """One entry as a use case states it; where and from whom it came is added
    by the audit adapter from the request it runs in.

    ``subject_user`` is the account the event concerns, so users can read
    their own account history. Metadata holds small plain values, never a
    secret.
    """

    action: AuditAction
    actor_type: ActorType
    actor_id: UUID | None = None
    workspace_id: UUID | None = None
    subject_user: UUID | None = None
    target_type: str | None = None
    target_id: UUID | None = None
    metadata: dict[str, str | int | bool | None] = field(default_factory=dict)
