"""A client's filename becomes a safe display name, never a path."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, reject
from hypothesis import strategies as st

from domain.files.errors import InvalidFilename
from domain.files.names import MAX_FILENAME_BYTES, extension_of, sanitize_filename

INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}

# Anything at all, with the nasty characters made frequent.
nasty = st.sampled_from(
    ["/", "\\", ".", "..", " ", "\x00", "\n", "\r", "\t", "\u202e", "\u200b", "\u2028", "\ufeff"]
)
raw_names = st.lists(st.one_of(st.text(max_size=40), nasty), max_size=20).map("".join) | st.text(
    max_size=400
)
# Characters that survive sanitising: printable, not separators, not dots.
safe_chars = st.characters(
    blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"),
    blacklist_characters="/\\.",
)
extensions = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)


def sanitized_or_none(raw: str) -> str | None:
    try:
        return sanitize_filename(raw)
    except InvalidFilename:
        return None


def sanitized(raw: str) -> str:
    """The sanitized name; an input with nothing left is not this example's concern."""
    try:
        return sanitize_filename(raw)
    except InvalidFilename:
        reject()


@given(raw_names)
@example("../../etc/passwd")
@example("a\\b/c")
def test_a_sanitized_name_never_holds_a_path_separator(raw: str) -> None:
    name = sanitized(raw)
    assert "/" not in name
    assert "\\" not in name


@given(raw_names)
@example("invoice\u202egnp.exe")
@example("zero\u200bwidth\x00.txt")
@example("line\u2028break.txt")
def test_a_sanitized_name_never_holds_control_format_or_bidi_characters(raw: str) -> None:
    name = sanitized(raw)
    assert [c for c in name if unicodedata.category(c) in INVISIBLE] == []


@given(raw_names)
@example(". . .")
@example(". .. .")
def test_a_sanitized_name_is_never_empty_or_only_dots(raw: str) -> None:
    name = sanitized_or_none(raw)
    assert name is None or name.strip(" .") != ""


@given(raw_names)
@example(". .env")
@example("report.txt .")
def test_a_sanitized_name_never_starts_or_ends_with_a_dot_or_space(raw: str) -> None:
    name = sanitized(raw)
    assert name[0] not in ". "
    assert name[-1] not in ". "


@given(st.text(safe_chars, min_size=1, max_size=10), raw_names)
def test_a_name_with_a_printable_last_component_is_always_accepted(
    last: str, directories: str
) -> None:
    assert sanitize_filename(f"{directories}/{last}")


@given(raw_names)
@example("é" * 300 + ".txt")
@example("😀" * 100)
def test_a_sanitized_name_fits_in_255_utf8_bytes(raw: str) -> None:
    name = sanitized(raw)
    assert len(name.encode()) <= MAX_FILENAME_BYTES


@given(st.text(safe_chars, min_size=1, max_size=400), extensions)
@example("a" * 300, "txt")
@example("€" * 200, "docx")
def test_the_extension_is_kept_even_when_the_name_is_shortened(stem: str, extension: str) -> None:
    name = sanitize_filename(f"{stem}.{extension}")
    assert name.endswith(f".{extension}")
    assert extension_of(name) == extension


@given(st.text(safe_chars, min_size=1, max_size=400), extensions)
def test_a_shortened_name_keeps_the_start_of_its_stem(stem: str, extension: str) -> None:
    name = sanitize_filename(f"{stem}.{extension}")
    kept = name.removesuffix(f".{extension}")
    original = unicodedata.normalize("NFC", stem)
    assert original.startswith(kept) or original.startswith(kept.removeprefix("_"))


@given(raw_names)
@example(". .0")
def test_sanitizing_a_sanitized_name_changes_nothing(raw: str) -> None:
    name = sanitized(raw)
    assert sanitize_filename(name) == name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\config", "config"),
        ("/etc/shadow", "shadow"),
        ("C:\\Users\\ada\\report.pdf", "report.pdf"),
        ("  spaced name.txt  ", "spaced name.txt"),
        ("...hidden.txt", "hidden.txt"),
        ("trailing.txt...", "trailing.txt"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("e\u0301te\u0301.txt", "été.txt"),
    ],
)
def test_known_names_are_reduced_as_expected(raw: str, expected: str) -> None:
    assert sanitize_filename(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["CON", "con.txt", "Prn.log", "aux", "NUL.tar.gz", "com1.txt", "LPT9", "com¹.md", "lpt²"],
)
def test_reserved_device_names_are_neutralised(raw: str) -> None:
    name = sanitize_filename(raw)
    assert name == "_" + raw
    assert name.lower().split(".")[0] not in {"con", "prn", "aux", "nul", "com1", "lpt9"}


@pytest.mark.parametrize("raw", ["console.txt", "auxiliary.md", "nullable.json", "com10.txt"])
def test_names_that_merely_start_like_a_device_are_left_alone(raw: str) -> None:
    assert sanitize_filename(raw) == raw


@pytest.mark.parametrize(
    "raw", ["", "   ", ".", "..", "../..", "dir/", "\u202e\u200b", "\x00\x01", ". . .", ". .. ."]
)
def test_a_name_with_nothing_left_is_refused(raw: str) -> None:
    with pytest.raises(InvalidFilename):
        sanitize_filename(raw)


@pytest.mark.parametrize(
    ("filename", "extension"),
    [
        ("report.PDF", "pdf"),
        ("archive.tar.gz", "gz"),
        ("README", ""),
        (".env", ""),
        ("trailing.", ""),
    ],
)
def test_the_extension_is_the_lowercased_last_suffix(filename: str, extension: str) -> None:
    assert extension_of(filename) == extension
