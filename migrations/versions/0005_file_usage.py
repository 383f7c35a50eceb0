"""files: a per-workspace usage counter kept by triggers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:35:00

The quota used to be summed over every version of the workspace on each
upload (twice: before streaming and under the lock at commit), a cost that
grows with the number of files. The counter is maintained by the database on
every insert and delete of a version, cascades included, so no code path can
forget it (versions are never updated, only inserted and deleted); existing
rows are counted once here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace_file_usage",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("used_bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workspace_file_usage_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_workspace_file_usage")),
    )
    op.execute(
        """
        CREATE FUNCTION count_file_version_bytes() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO workspace_file_usage AS usage (workspace_id, used_bytes)
                VALUES (NEW.workspace_id, NEW.size)
                ON CONFLICT (workspace_id)
                DO UPDATE SET used_bytes = usage.used_bytes + EXCLUDED.used_bytes;
                RETURN NEW;
            END IF;
            -- A workspace being deleted may have lost its row already: nothing to do.
            UPDATE workspace_file_usage SET used_bytes = used_bytes - OLD.size
            WHERE workspace_id = OLD.workspace_id;
            RETURN OLD;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER file_versions_count_bytes
        AFTER INSERT OR DELETE ON file_versions
        FOR EACH ROW EXECUTE FUNCTION count_file_version_bytes()
        """
    )
    op.execute(
        """
        INSERT INTO workspace_file_usage (workspace_id, used_bytes)
        SELECT workspace_id, sum(size) FROM file_versions GROUP BY workspace_id
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER file_versions_count_bytes ON file_versions")
    op.execute("DROP FUNCTION count_file_version_bytes()")
    op.drop_table("workspace_file_usage")
