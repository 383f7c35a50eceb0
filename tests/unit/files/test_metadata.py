"""Tags, category and description: normalised, bounded, printable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.files.errors import InvalidFileMetadata
from domain.files.file import (
    MAX_CATEGORY_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    parse_category,
    parse_description,
    parse_tags,
)

# -- tags -----------------------------------------------------------------------------


def test_tags_may_be_comma_separated_or_repeated() -> None:
    assert parse_tags(["alpha,beta", "gamma"]) == ["alpha", "beta", "gamma"]


def test_tags_are_trimmed_and_lowercased() -> None:
    assert parse_tags(["  Finance , Q3 "]) == ["finance", "q3"]


def test_duplicate_tags_are_kept_once_in_first_seen_order() -> None:
    assert parse_tags(["b,a", "B", "a,c"]) == ["b", "a", "c"]


def test_tags_equal_after_unicode_normalisation_are_duplicates() -> None:
    assert parse_tags(["caf\u00e9", "cafe\u0301"]) == ["caf\u00e9"]


def test_empty_pieces_are_ignored() -> None:
    assert parse_tags([",, ,", "", "x,"]) == ["x"]


def test_no_tags_is_an_empty_list() -> None:
    assert parse_tags([]) == []


def test_a_tag_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(InvalidFileMetadata):
        parse_tags(["x" * (MAX_TAG_LENGTH + 1)])


def test_a_tag_at_the_length_limit_is_accepted() -> None:
    assert parse_tags(["x" * MAX_TAG_LENGTH]) == ["x" * MAX_TAG_LENGTH]


@pytest.mark.parametrize("tag", ["bad\x00tag", "line\nbreak", "bidi\u202etag", "zero\u200bwidth"])
def test_a_tag_with_an_invisible_character_is_refused(tag: str) -> None:
    with pytest.raises(InvalidFileMetadata):
        parse_tags([tag])


def test_more_tags_than_the_limit_are_refused() -> None:
    with pytest.raises(InvalidFileMetadata):
        parse_tags([",".join(f"t{i}" for i in range(MAX_TAGS + 1))])


def test_exactly_the_maximum_number_of_tags_is_accepted() -> None:
    assert len(parse_tags([f"t{i}" for i in range(MAX_TAGS)])) == MAX_TAGS


def test_repeats_do_not_count_towards_the_tag_limit() -> None:
    assert parse_tags(["same"] * (MAX_TAGS * 2)) == ["same"]


@given(st.lists(st.text(max_size=20), max_size=10))
def test_parsed_tags_are_unique_trimmed_lowercase_and_comma_free(raw: list[str]) -> None:
    try:
        tags = parse_tags(raw)
    except InvalidFileMetadata:
        return
    assert len(tags) == len(set(tags))
    for tag in tags:
        assert tag
        assert "," not in tag
        assert tag == tag.strip()
        assert tag == tag.lower()


# -- category -------------------------------------------------------------------------


def test_a_category_is_trimmed_and_lowercased() -> None:
    assert parse_category("  Reports ") == "reports"


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_a_missing_or_blank_category_is_none(raw: str | None) -> None:
    assert parse_category(raw) is None


def test_a_category_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(InvalidFileMetadata):
        parse_category("c" * (MAX_CATEGORY_LENGTH + 1))


def test_a_category_with_a_control_character_is_refused() -> None:
    with pytest.raises(InvalidFileMetadata):
        parse_category("re\x07ports")


# -- description ----------------------------------------------------------------------


def test_a_description_keeps_its_case_and_inner_line_breaks() -> None:
    assert parse_description("  First line\n\tSecond Line  ") == "First line\n\tSecond Line"


@pytest.mark.parametrize("raw", [None, "", " \n\t "])
def test_a_missing_or_blank_description_is_none(raw: str | None) -> None:
    assert parse_description(raw) is None


def test_a_description_at_the_length_limit_is_accepted() -> None:
    assert parse_description("d" * MAX_DESCRIPTION_LENGTH) == "d" * MAX_DESCRIPTION_LENGTH


def test_a_description_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(InvalidFileMetadata):
        parse_description("d" * (MAX_DESCRIPTION_LENGTH + 1))


@pytest.mark.parametrize("raw", ["bell\x07", "nul\x00byte", "escape\x1b[31m"])
def test_a_description_with_a_control_character_is_refused(raw: str) -> None:
    with pytest.raises(InvalidFileMetadata):
        parse_description(raw)
