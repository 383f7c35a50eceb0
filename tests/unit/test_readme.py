"""The README's role matrix is the domain's, not a copy that drifted."""

from __future__ import annotations

import re
from pathlib import Path

from domain.tenancy.roles import LOWEST_ROLE, Permission, Role

README = Path(__file__).resolve().parents[2] / "README.md"
ROLES = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]


def test_the_readme_role_matrix_matches_the_permission_table() -> None:
    rows = re.findall(r"^\| `([a-z_:]+)` \| (.+) \|$", README.read_text(), re.MULTILINE)
    documented = {
        Permission(name): [cell.strip() == "✓" for cell in cells.split("|")] for name, cells in rows
    }
    expected = {
        permission: [role.at_least(lowest) for role in ROLES]
        for permission, lowest in LOWEST_ROLE.items()
    }
    assert documented == expected
