"""Every table, defined once. Alembic autogenerates migrations from this."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ts(name: str, *, nullable: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("email", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("email_verified", Boolean, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "user_id",
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _ts("created_at"),
    _ts("last_used_at"),
    _ts("expires_at"),
    Column("user_agent", Text),
    Column("client_address", Text),
    _ts("revoked_at", nullable=True),
    Column("revoke_reason", Text),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column(
        "session_id",
        UUID(as_uuid=True),
        ForeignKey("sessions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _ts("created_at"),
    _ts("spent_at", nullable=True),
)

one_time_tokens = Table(
    "one_time_tokens",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column("purpose", Text, nullable=False),
    Column(
        "user_id",
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _ts("created_at"),
    _ts("expires_at"),
    _ts("used_at", nullable=True),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("topic", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    _ts("created_at"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _ts("next_attempt_at"),
    _ts("delivered_at", nullable=True),
    _ts("dead_at", nullable=True),
    Column("last_error", Text),
    Index(
        "ix_outbox_due",
        "next_attempt_at",
        postgresql_where=text("delivered_at IS NULL AND dead_at IS NULL"),
    ),
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("personal", Boolean, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
)

memberships = Table(
    "memberships",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "user_id",
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    Column("role", Text, nullable=False),
    _ts("joined_at"),
    CheckConstraint("role IN ('owner', 'admin', 'member', 'viewer')", name="role"),
    # Exactly one owner per workspace, enforced by the database as well.
    Index(
        "uq_memberships_one_owner",
        "workspace_id",
        unique=True,
        postgresql_where=text("role = 'owner'"),
    ),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("email", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column(
        "invited_by",
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("token_hash", Text, unique=True),
    _ts("created_at"),
    _ts("expires_at"),
    _ts("accepted_at", nullable=True),
    _ts("revoked_at", nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", Text, nullable=False),
    Column("prefix", Text, nullable=False, index=True),
    Column("secret_hash", Text, nullable=False, unique=True),
    Column("scopes", ARRAY(Text), nullable=False),
    Column(
        "created_by",
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _ts("created_at"),
    _ts("expires_at", nullable=True),
    _ts("revoked_at", nullable=True),
    _ts("last_used_at", nullable=True),
    Column("rate_limit_per_minute", Integer),
)

# Append-only: a trigger (migration 0002) refuses UPDATE and DELETE. No
# foreign keys: entries outlive the users and workspaces they mention.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    _ts("occurred_at"),
    Column("workspace_id", UUID(as_uuid=True)),
    Column("subject_user_id", UUID(as_uuid=True)),
    Column("actor_type", Text, nullable=False),
    Column("actor_id", UUID(as_uuid=True)),
    Column("action", Text, nullable=False),
    Column("target_type", Text),
    Column("target_id", UUID(as_uuid=True)),
    Column("client_address", Text),
    Column("user_agent", Text),
    Column("request_id", Text),
    Column("metadata", JSONB, nullable=False),
    Index("ix_audit_log_workspace", "workspace_id", "id"),
    Index("ix_audit_log_subject", "subject_user_id", "id"),
)

files = Table(
    "files",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("filename", Text, nullable=False),
    Column("category", Text),
    Column("tags", ARRAY(Text), nullable=False),
    Column("description", Text),
    Column("is_public", Boolean, nullable=False),
    Column("created_by", UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")),
    _ts("created_at"),
    _ts("updated_at"),
    Column("current_version", Integer, nullable=False),
    Index("ix_files_workspace_id_id", "workspace_id", "id"),
    Index("ix_files_tags", "tags", postgresql_using="gin"),
)

file_versions = Table(
    "file_versions",
    metadata,
    Column(
        "file_id",
        UUID(as_uuid=True),
        ForeignKey("files.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("number", Integer, primary_key=True),
    # Denormalised so the quota is one indexed sum per workspace.
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("storage_key", Text, nullable=False, unique=True),
    Column("size", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("created_by", UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")),
    _ts("created_at"),
)


# Bytes each workspace stores, all versions: kept by triggers on file_versions
# (migration 0005), so every insert and every delete — cascades included —
# counts, and the quota is one row read instead of a sum over every version.
workspace_file_usage = Table(
    "workspace_file_usage",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("used_bytes", BigInteger, nullable=False),
)


def _workspace_fk() -> Column[object]:
    return Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    )


# Provider keys, AES-256-GCM sealed with the workspace and credential ids as
# associated data (adapters.security.cipher); only the last 4 characters are
# kept in clear, for display.
llm_credentials = Table(
    "llm_credentials",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    _workspace_fk(),
    Column("provider", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("nonce", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("last4", Text, nullable=False),
    Column("base_url", Text),
    Column("created_by", UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")),
    _ts("created_at"),
    UniqueConstraint("workspace_id", "name"),
    Index("ix_llm_credentials_workspace_id_provider", "workspace_id", "provider", "created_at"),
)

llm_routes = Table(
    "llm_routes",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    _workspace_fk(),
    Column("name", Text, nullable=False),
    Column("strategy", Text, nullable=False),
    Column("targets", JSONB, nullable=False),
    Column("fallback_on", ARRAY(Text), nullable=False),
    Column("created_by", UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")),
    _ts("created_at"),
    _ts("updated_at"),
    UniqueConstraint("workspace_id", "name"),
)

# One row per workspace budget (api_key_id NULL) or per API key budget.
llm_budgets = Table(
    "llm_budgets",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    _workspace_fk(),
    Column("api_key_id", UUID(as_uuid=True), ForeignKey("api_keys.id", ondelete="CASCADE")),
    Column("limit_micros", BigInteger, nullable=False),
    Column("period", Text, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    CheckConstraint("limit_micros >= 0", name="limit_not_negative"),
    UniqueConstraint("workspace_id", "api_key_id", postgresql_nulls_not_distinct=True),
)

# Requests/min, tokens/min and concurrency, per workspace (api_key_id NULL) or per key.
llm_limits = Table(
    "llm_limits",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    _workspace_fk(),
    Column("api_key_id", UUID(as_uuid=True), ForeignKey("api_keys.id", ondelete="CASCADE")),
    Column("requests_per_minute", Integer),
    Column("tokens_per_minute", Integer),
    Column("max_concurrent", Integer),
    _ts("updated_at"),
    UniqueConstraint("workspace_id", "api_key_id", postgresql_nulls_not_distinct=True),
)

llm_settings = Table(
    "llm_settings",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("refuse_unpriced_models", Boolean, nullable=False),
    _ts("updated_at"),
)

# Every call, written off the request path in batches. No foreign keys to
# keys or users: the record outlives them (it holds ids, not content).
llm_usage = Table(
    "llm_usage",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    _workspace_fk(),
    Column("api_key_id", UUID(as_uuid=True)),
    Column("user_id", UUID(as_uuid=True)),
    Column("route_id", UUID(as_uuid=True)),
    Column("route_name", Text),
    Column("requested_model", Text, nullable=False),
    Column("model", Text),  # provider/model that answered (or was last tried)
    Column("provider", Text),
    Column("endpoint", Text, nullable=False),  # chat | embeddings
    Column("stream", Boolean, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("fallback_path", JSONB, nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cached_tokens", Integer, nullable=False),
    Column("cost_micros", BigInteger),  # NULL: the price is unknown (never 0)
    Column("latency_ms", Integer, nullable=False),
    Column("ttft_ms", Integer),
    Column("status", Text, nullable=False),  # ok | an error code
    Column("request_id", Text),
    _ts("created_at"),
    Index("ix_llm_usage_workspace_id_created_at", "workspace_id", "created_at"),
)
