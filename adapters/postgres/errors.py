"""Database failures become domain errors: constraint violations by name,
everything else as StorageUnavailable (HTTP 503).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from domain.common.errors import DomainError, StorageUnavailable
from domain.identity.errors import EmailTaken

CONSTRAINT_ERRORS: dict[str, type[DomainError]] = {
    "uq_users_email": EmailTaken,
}


def constraint_name(exc: IntegrityError) -> str | None:
    cause = getattr(exc.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)
    return name if isinstance(name, str) else None


@contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        error = CONSTRAINT_ERRORS.get(constraint_name(exc) or "")
        if error is None:
            raise StorageUnavailable("The database refused the change.") from exc
        raise error from None
    except (DBAPIError, SQLAlchemyError, OSError, TimeoutError) as exc:
        raise StorageUnavailable("The database is unavailable; try again.") from exc
