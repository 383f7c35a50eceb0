from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from domain.identity.errors import WeakPassword
from domain.identity.password import MAX_LENGTH, MIN_LENGTH, Password, is_common, normalize


def nfkc_length(raw: str) -> int:
    return len(unicodedata.normalize("NFKC", raw))


def acceptable(raw: str) -> bool:
    text = unicodedata.normalize("NFKC", raw)
    return MIN_LENGTH <= len(text) <= MAX_LENGTH and len(set(text)) > 1 and not is_common(text)


ANY_TEXT = st.text(max_size=140)
LONG_ENOUGH = st.text(min_size=MIN_LENGTH, max_size=MAX_LENGTH)


@given(ANY_TEXT)
def test_passwords_shorter_than_the_minimum_after_nfkc_are_refused(raw: str) -> None:
    assume(nfkc_length(raw) < MIN_LENGTH)
    with pytest.raises(WeakPassword):
        Password.parse(raw)


@given(st.text(min_size=MAX_LENGTH - 20, max_size=MAX_LENGTH + 40))
def test_passwords_longer_than_the_maximum_after_nfkc_are_refused(raw: str) -> None:
    assume(nfkc_length(raw) > MAX_LENGTH)
    with pytest.raises(WeakPassword):
        Password.parse(raw)


@given(LONG_ENOUGH)
def test_any_unicode_within_bounds_is_accepted_in_nfkc_form(raw: str) -> None:
    assume(acceptable(raw))
    assert Password.parse(raw).value == unicodedata.normalize("NFKC", raw)


@given(ANY_TEXT)
def test_parse_accepts_exactly_what_the_policy_allows(raw: str) -> None:
    try:
        Password.parse(raw)
    except WeakPassword:
        assert not acceptable(raw)
    else:
        assert acceptable(raw)


@given(LONG_ENOUGH)
def test_normalisation_is_idempotent(raw: str) -> None:
    assume(acceptable(raw))
    password = Password.parse(raw)
    assert Password.parse(password.value) == password
    assert normalize(password.value) == password.value


def test_length_is_counted_in_code_points_not_bytes() -> None:
    assert Password.parse("ÿ" * 5 + "é" * 5).value == "ÿÿÿÿÿééééé"  # 20 bytes, 10 code points


def test_the_bounds_are_inclusive() -> None:
    Password.parse("ab" * 5)
    Password.parse("ab" * 64)
    with pytest.raises(WeakPassword):
        Password.parse("ab" * 4 + "a")
    with pytest.raises(WeakPassword):
        Password.parse("ab" * 64 + "a")


def test_compatibility_characters_count_after_normalisation() -> None:
    # U+FB03 "ffi" is one code point before NFKC and three after it.
    assert Password.parse("ﬃ" + "qwzx" + "ſ" * 3).value == "ffiqwzxsss"


def test_the_same_password_typed_in_full_width_normalises_to_the_same_value() -> None:
    assert Password.parse("ｖｅｌｖｅｔｏｃｅａｎ４２") == Password.parse("velvetocean42")


@pytest.mark.parametrize(
    "raw",
    [
        "password123",
        "1234567890",
        "qwertyuiop",
        "Password2024",
        "PASSWORD123",
        "iloveyou12",
        "football2023",
        "Ｐａｓｓｗｏｒｄ１２３",
    ],
)
def test_common_passwords_are_refused(raw: str) -> None:
    with pytest.raises(WeakPassword, match="too common"):
        Password.parse(raw)


@pytest.mark.parametrize("raw", ["aaaaaaaaaaaa", "1111111111", "ééééééééééééé"])
def test_a_single_repeated_character_is_refused(raw: str) -> None:
    with pytest.raises(WeakPassword):
        Password.parse(raw)


@pytest.mark.parametrize(
    ("raw", "context"),
    [
        ("ada.lovelace@example.com", ("ada.lovelace@example.com", "ada.lovelace", "Ada")),
        ("ADA.LOVELACE", ("ada.lovelace@example.com", "ada.lovelace", "Ada")),
        ("Ada Lovelace", ("ada@example.com", "ada", "Ada Lovelace")),
    ],
)
def test_the_email_address_or_name_is_refused(raw: str, context: tuple[str, ...]) -> None:
    with pytest.raises(WeakPassword, match="email address or name"):
        Password.parse(raw, context=context)


def test_a_password_merely_containing_the_name_is_accepted() -> None:
    assert Password.parse("Ada Lovelace rocks", context=("Ada Lovelace",))


def test_short_context_words_are_ignored() -> None:
    assert Password.parse("bob-is-cool", context=("bob", "bob-is-cool"[:3]))


@given(LONG_ENOUGH)
@example("ﬁnancialwizard")  # the name typed verbatim, holding a compatibility ligature
def test_a_password_equal_to_a_context_word_is_always_refused(word: str) -> None:
    assume(acceptable(word) and len(word) >= 4)
    with pytest.raises(WeakPassword):
        Password.parse(word, context=(word,))


def test_the_refusal_names_the_field() -> None:
    with pytest.raises(WeakPassword) as caught:
        Password.parse("short", field="new_password")
    assert caught.value.field == "new_password"


def test_the_password_never_shows_in_its_repr() -> None:
    password = Password.parse("a secret phrase")
    assert "secret" not in repr(password)
    assert "secret" not in repr([password])
