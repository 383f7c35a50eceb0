"""GET /api/v1/files: numbered pages, cursor pages, filters and sorting."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.e2e.conftest import Mailbox
from tests.e2e.files_helpers import (  # noqa: F401
    FILES,
    Account,
    account,
    files_app,
    files_client,
    files_settings,
    files_storage_root,
    uploaded,
)
from tests.e2e.helpers import assert_problem
from tests.e2e.tenancy_helpers import build_team

Client = AsyncTestClient[Litestar]


async def listing(client: Client, user: Account, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{FILES}/", params=params, headers=user.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


async def several(client: Client, user: Account, count: int) -> list[str]:
    """``count`` files, oldest first."""
    return [
        (await uploaded(client, user.auth, filename=f"file-{i:02d}.txt"))["id"]
        for i in range(count)
    ]


# -- pages ----------------------------------------------------------------------------


async def test_an_empty_workspace_lists_nothing(client: Client) -> None:
    ada = await account(client)
    page = await listing(client, ada)
    assert (page["items"], page["total"], page["next_cursor"]) == ([], 0, None)


async def test_numbered_pages_carry_the_total_and_cover_everything_once(client: Client) -> None:
    ada = await account(client)
    made = await several(client, ada, 5)

    pages = [await listing(client, ada, page=n, size=2) for n in (1, 2, 3)]

    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert {p["total"] for p in pages} == {5}
    seen = [file_id for p in pages for file_id in ids(p)]
    assert seen == list(reversed(made))  # newest first, no overlap, nothing missed


async def test_a_page_past_the_end_is_empty_but_keeps_the_total(client: Client) -> None:
    ada = await account(client)
    await several(client, ada, 3)
    page = await listing(client, ada, page=9, size=2)
    assert (page["items"], page["total"]) == ([], 3)


async def test_cursor_pages_cover_everything_without_overlap(client: Client) -> None:
    ada = await account(client)
    made = await several(client, ada, 7)

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await listing(client, ada, limit=3, **({"cursor": cursor} if cursor else {}))
        assert page["total"] is None
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(made))


async def test_the_last_cursor_page_has_no_next_cursor(client: Client) -> None:
    ada = await account(client)
    await several(client, ada, 3)
    page = await listing(client, ada, limit=3)
    assert len(page["items"]) == 3
    assert page["next_cursor"] is None


async def test_a_malformed_cursor_is_422(client: Client) -> None:
    ada = await account(client)
    response = await client.get(f"{FILES}/", params={"cursor": "!!!"}, headers=ada.auth)
    assert_problem(response, 422, "invalid_cursor")


async def test_a_page_size_over_the_maximum_is_refused(client: Client) -> None:
    ada = await account(client)
    response = await client.get(f"{FILES}/", params={"size": 201}, headers=ada.auth)
    assert response.status_code in {400, 422}, response.text


async def test_another_users_files_are_not_listed(client: Client) -> None:
    ada = await account(client, "ada@example.com")
    bob = await account(client, "bob@example.com")
    await uploaded(client, bob.auth)
    assert (await listing(client, ada))["total"] == 0


# -- filters --------------------------------------------------------------------------


async def test_filtering_by_category_ignores_case(client: Client) -> None:
    ada = await account(client)
    report = await uploaded(client, ada.auth, category="Reports")
    await uploaded(client, ada.auth, category="invoices")
    await uploaded(client, ada.auth)
    assert ids(await listing(client, ada, category="REPORTS")) == [report["id"]]


async def test_filtering_by_tag(client: Client) -> None:
    ada = await account(client)
    tagged = await uploaded(client, ada.auth, tags="q3,finance")
    await uploaded(client, ada.auth, tags="q4")
    assert ids(await listing(client, ada, tag="finance")) == [tagged["id"]]


async def test_q_matches_the_name(client: Client) -> None:
    ada = await account(client)
    budget = await uploaded(client, ada.auth, filename="Budget-2025.txt")
    await uploaded(client, ada.auth, filename="minutes.txt")
    assert ids(await listing(client, ada, q="budget")) == [budget["id"]]


async def test_q_matches_the_description(client: Client) -> None:
    ada = await account(client)
    found = await uploaded(client, ada.auth, description="Signed by the board")
    await uploaded(client, ada.auth, description="Draft")
    assert ids(await listing(client, ada, q="BOARD")) == [found["id"]]


async def test_q_treats_wildcards_literally(client: Client) -> None:
    ada = await account(client)
    percent = await uploaded(client, ada.auth, filename="growth 100%.txt")
    await uploaded(client, ada.auth, filename="plain.txt")
    await uploaded(client, ada.auth, filename="under_score.txt")
    assert ids(await listing(client, ada, q="%")) == [percent["id"]]
    assert len(ids(await listing(client, ada, q="_"))) == 1


async def test_filtering_by_visibility(client: Client) -> None:
    ada = await account(client)
    public = await uploaded(client, ada.auth, is_public="true")
    private = await uploaded(client, ada.auth)
    assert ids(await listing(client, ada, is_public="true")) == [public["id"]]
    assert ids(await listing(client, ada, is_public="false")) == [private["id"]]


async def test_filtering_by_uploader(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "member")
    mine = await uploaded(client, team.member.in_(team.workspace))
    await uploaded(client, team.owner.in_(team.workspace))
    page = await client.get(
        f"{FILES}/",
        params={"created_by": team.member.id},
        headers=team.owner.in_(team.workspace),
    )
    assert ids(page.json()) == [mine["id"]]


async def test_filters_combine(client: Client) -> None:
    ada = await account(client)
    both = await uploaded(client, ada.auth, category="reports", tags="q3")
    await uploaded(client, ada.auth, category="reports", tags="q4")
    await uploaded(client, ada.auth, category="other", tags="q3")
    assert ids(await listing(client, ada, category="reports", tag="q3")) == [both["id"]]


async def test_a_filtered_total_counts_only_the_matches(client: Client) -> None:
    ada = await account(client)
    for _ in range(3):
        await uploaded(client, ada.auth, tags="keep")
    await uploaded(client, ada.auth, tags="other")
    page = await listing(client, ada, tag="keep", page=1, size=2)
    assert (len(page["items"]), page["total"]) == (2, 3)


# -- sorting --------------------------------------------------------------------------


async def test_sorting_by_filename(client: Client) -> None:
    ada = await account(client)
    for name in ["b.txt", "c.txt", "a.txt"]:
        await uploaded(client, ada.auth, filename=name)
    page = await listing(client, ada, sort="filename")
    assert [item["filename"] for item in page["items"]] == ["a.txt", "b.txt", "c.txt"]


async def test_sorting_by_size_descending(client: Client) -> None:
    ada = await account(client)
    for size in [10, 30, 20]:
        await uploaded(client, ada.auth, content=b"x" * size)
    page = await listing(client, ada, sort="-size")
    assert [item["size"] for item in page["items"]] == [30, 20, 10]


async def test_sorting_oldest_first(client: Client) -> None:
    ada = await account(client)
    made = await several(client, ada, 3)
    assert ids(await listing(client, ada, sort="created_at")) == made


async def test_an_unknown_sort_is_422(client: Client) -> None:
    ada = await account(client)
    response = await client.get(f"{FILES}/", params={"sort": "password"}, headers=ada.auth)
    assert_problem(response, 422, "invalid_input")
