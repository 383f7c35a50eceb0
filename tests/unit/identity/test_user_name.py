from __future__ import annotations

import contextlib
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.identity.errors import InvalidName
from domain.identity.user import NAME_MAX_LENGTH, UserName

PRINTABLE = st.text(
    st.characters(categories=("L", "M", "N", "P", "S", "Zs")), min_size=1, max_size=120
)


@given(st.text(max_size=130))
def test_parse_either_accepts_or_raises_invalid_name(raw: str) -> None:
    with contextlib.suppress(InvalidName):
        UserName.parse(raw)


@given(st.text(st.characters(categories=("Cc", "Cf")), min_size=1, max_size=5))
def test_every_refusal_names_the_field(junk: str) -> None:
    with pytest.raises(InvalidName) as caught:
        UserName.parse(f"Ada{junk}Lovelace")
    assert caught.value.field == "name"


@given(st.text(max_size=130))
def test_normalisation_is_idempotent(raw: str) -> None:
    try:
        name = UserName.parse(raw)
    except InvalidName:
        return
    assert UserName.parse(name.value) == name


@given(PRINTABLE)
def test_names_are_stored_nfc_and_trimmed(raw: str) -> None:
    expected = unicodedata.normalize("NFC", raw).strip()
    assume(1 <= len(expected) <= NAME_MAX_LENGTH)
    assert UserName.parse(raw).value == expected


@given(
    st.text(
        st.characters(categories=("L", "N", "P", "S")),
        min_size=NAME_MAX_LENGTH + 1,
        max_size=NAME_MAX_LENGTH + 60,
    )
)
def test_names_longer_than_the_maximum_are_refused(raw: str) -> None:
    assume(len(unicodedata.normalize("NFC", raw).strip()) > NAME_MAX_LENGTH)
    with pytest.raises(InvalidName):
        UserName.parse(raw)


def test_the_maximum_length_is_inclusive() -> None:
    assert UserName.parse("x" * NAME_MAX_LENGTH)
    with pytest.raises(InvalidName):
        UserName.parse("x" * (NAME_MAX_LENGTH + 1))


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", "\u3000"])
def test_blank_names_are_refused(raw: str) -> None:
    with pytest.raises(InvalidName, match="empty"):
        UserName.parse(raw)


@pytest.mark.parametrize(
    "raw", ["Ada\x00Lovelace", "Ada\x07", "Ada\u200bLovelace", "Ada\u202eecalevoL", "Ada\ue000"]
)
def test_control_and_format_characters_are_refused(raw: str) -> None:
    with pytest.raises(InvalidName, match="control"):
        UserName.parse(raw)


@pytest.mark.parametrize("raw", ["Ada Lovelace", "李小龍", "Zoë O'Brien-Smith", "محمد", "🙂 Ada"])
def test_names_in_any_script_are_accepted(raw: str) -> None:
    assert UserName.parse(raw).value == raw


def test_composed_and_decomposed_spellings_are_the_same_name() -> None:
    assert UserName.parse("Zoe\u0308") == UserName.parse("Zo\u00eb")
