from typing import NewType
from uuid import UUID

FileId = NewType("FileId", UUID)
