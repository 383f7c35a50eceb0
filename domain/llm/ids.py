from typing import NewType
from uuid import UUID

CredentialId = NewType("CredentialId", UUID)
RouteId = NewType("RouteId", UUID)
