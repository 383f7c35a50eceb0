from abc import abstractmethod
from typing import Protocol


class TransactionManager(Protocol):
    @abstractmethod
    async def commit(self) -> None:
        """Write the state changes and the events they recorded, atomically."""

    @abstractmethod
    async def release(self) -> None:
        """End a transaction that has nothing to commit and hand its database
        connection back until the next statement: for a handler about to wait
        long (a streamed upload) between its checks and its writes."""
