"""The one way adapters run SQL: database failures become domain errors."""

from __future__ import annotations

from typing import Any

from adapters.postgres.engine import SqlConnection
from adapters.postgres.errors import translated
from adapters.postgres.unit_of_work import SqlUnitOfWork


class Statements:
    """Reads on a connection."""

    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def _execute(self, statement: Any) -> Any:
        with translated():
            return await self._connection.execute(statement)


class UnitOfWorkStatements(Statements):
    """Writes inside the request's unit of work, whose aggregates it tracks."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow.connection)
        self._uow = uow
