from __future__ import annotations

import contextlib
import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.identity.email import Email
from domain.identity.errors import InvalidEmail

ALNUM = string.ascii_letters + string.digits
ASCII_LOCAL = st.lists(st.text(ALNUM + "_+-", min_size=1, max_size=12), min_size=1, max_size=3).map(
    ".".join
)
LABEL = st.builds(
    lambda first, middle, last: first + middle + last,
    st.sampled_from(ALNUM),
    st.text(ALNUM + "-", max_size=10),
    st.sampled_from(ALNUM),
) | st.sampled_from(ALNUM)
TLD = st.text(string.ascii_letters, min_size=2, max_size=8)
DOMAIN = st.builds(
    lambda labels, tld: ".".join([*labels, tld]), st.lists(LABEL, min_size=1, max_size=3), TLD
)
ASCII_ADDRESS = st.builds(lambda local, domain: f"{local}@{domain}", ASCII_LOCAL, DOMAIN)

# Letters, digits and combining marks of every script: what people really type.
UNICODE_LOCAL = st.text(
    st.characters(categories=("Lu", "Ll", "Lt", "Lo", "Nd", "Mn")), min_size=1, max_size=12
)


def swap_case(text: str, flips: list[bool]) -> str:
    flips = (flips + [False] * len(text))[: len(text)]
    return "".join(ch.swapcase() if flip else ch for ch, flip in zip(text, flips, strict=True))


@given(ASCII_ADDRESS)
def test_parse_accepts_ordinary_addresses_in_lower_case(raw: str) -> None:
    assert Email.parse(raw).value == raw.lower()


@given(ASCII_ADDRESS, st.lists(st.booleans(), max_size=60))
def test_addresses_differing_only_in_case_are_equal(raw: str, flips: list[bool]) -> None:
    assert Email.parse(swap_case(raw, flips)) == Email.parse(raw)


@given(ASCII_ADDRESS)
def test_surrounding_whitespace_is_ignored(raw: str) -> None:
    assert Email.parse(f"  {raw}\t\n") == Email.parse(raw)


@given(UNICODE_LOCAL, DOMAIN)
@example("İ̖x", "example.com")  # U+0130 U+0316: lower() yields marks out of canonical order
def test_normalisation_is_idempotent(local: str, domain: str) -> None:
    try:
        email = Email.parse(f"{local}@{domain}")
    except InvalidEmail:
        return
    assert Email.parse(email.value) == email


IDN_LABEL = st.text(st.sampled_from("abcxyz0123üéøñ"), min_size=1, max_size=30)


@given(st.lists(IDN_LABEL, min_size=1, max_size=8))
@example(["ü" * 20 + "x" * 10] * 7)  # 221 characters typed, 270 once in punycode
def test_a_stored_address_is_at_most_254_characters(labels: list[str]) -> None:
    try:
        email = Email.parse("a@" + ".".join(labels) + ".de")
    except InvalidEmail:
        return
    assert len(email.value) <= 254
    assert Email.parse(email.value) == email


def test_internationalised_domains_are_stored_as_punycode() -> None:
    assert Email.parse("Zoë@Bücher.Example").value == "zoë@xn--bcher-kva.example"


def test_the_punycode_and_unicode_spellings_of_a_domain_are_equal() -> None:
    assert Email.parse("a@bücher.example") == Email.parse("a@xn--bcher-kva.example")


def test_a_trailing_dot_on_the_domain_is_dropped() -> None:
    assert Email.parse("a@example.com.") == Email.parse("a@example.com")


def test_local_part_is_what_precedes_the_at_sign() -> None:
    assert Email.parse("Grace.Hopper@Navy.mil").local_part == "grace.hopper"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "plainaddress",
        "@example.com",
        "ada@",
        "ada@@example.com",
        "ada@bob@example.com",
        "ada lovelace@example.com",
        "ada@exa mple.com",
        ".ada@example.com",
        "ada.@example.com",
        "ada..lovelace@example.com",
        'ada"@example.com',
        "ada(x)@example.com",
        "ada,b@example.com",
        "ada:b@example.com",
        "ada;b@example.com",
        "<ada>@example.com",
        "ada[1]@example.com",
        "ada\\b@example.com",
        "ada\x00@example.com",
        "ada\u200b@example.com",
        "ada@localhost",
        "ada@example",
        "ada@-example.com",
        "ada@example-.com",
        "ada@exa_mple.com",
        "ada@example..com",
        "ada@.example.com",
        "ada@127.0.0.1",
        "ada@example.123",
        "ada@[127.0.0.1]",
        "a" * 65 + "@example.com",
        "ada@" + "a" * 64 + ".com",
        "a@" + ".".join(["abcdefghij"] * 23) + ".com",
    ],
)
def test_invalid_addresses_are_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail) as caught:
        Email.parse(raw)
    assert caught.value.field == "email"


@given(st.text(max_size=40))
def test_parse_either_accepts_or_raises_invalid_email(raw: str) -> None:
    with contextlib.suppress(InvalidEmail):
        Email.parse(raw)
