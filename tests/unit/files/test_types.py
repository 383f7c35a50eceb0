"""What a file may be: an allowed extension, bytes that agree with it, and a
declared type that agrees too (or says nothing)."""

from __future__ import annotations

import pytest

from domain.files.errors import UnsupportedFileType
from domain.files.types import ALIASES, KINDS, check_type, is_active

EVERYTHING = frozenset(KINDS)
PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def check(
    extension: str,
    head: bytes = b"plain text",
    sniffed: frozenset[str] = frozenset(),
    declared: str | None = None,
    allowed: frozenset[str] = EVERYTHING,
) -> str:
    return check_type(
        extension=extension, allowed=allowed, declared=declared, head=head, sniffed=sniffed
    )


def binary_sample(extension: str) -> tuple[bytes, frozenset[str]]:
    """A head and what a sniffer reports for it, for a binary kind."""
    return b"\x00\x01binary", frozenset({extension})


def sample(extension: str) -> tuple[bytes, frozenset[str]]:
    if KINDS[extension].text:
        return b"some text\n", frozenset()
    return binary_sample(extension)


# -- the allowlist --------------------------------------------------------------------


def test_an_extension_outside_the_allowlist_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        check("png", PNG_HEAD, frozenset({"png"}), allowed=frozenset({"txt", "pdf"}))


def test_an_allowed_extension_without_a_known_kind_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        check("exe", b"MZ\x90\x00", frozenset({"exe"}), allowed=EVERYTHING | {"exe"})


def test_a_file_without_an_extension_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        check("", b"text", allowed=EVERYTHING | {""})


@pytest.mark.parametrize("extension", sorted(KINDS))
def test_every_known_kind_is_accepted_with_matching_content(extension: str) -> None:
    head, sniffed = sample(extension)
    assert check(extension, head, sniffed) == KINDS[extension].mime


# -- magic bytes ----------------------------------------------------------------------


def test_a_png_whose_bytes_are_text_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        check("png", b"just some text", frozenset())


def test_a_png_whose_bytes_are_a_gif_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        check("png", b"GIF89a...", frozenset({"gif"}))


def test_a_pdf_whose_bytes_are_an_executable_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        check("pdf", b"MZ\x90\x00", frozenset({"exe", "dll"}))


def test_a_docx_recognised_only_as_a_zip_is_accepted() -> None:
    assert check("docx", b"PK\x03\x04", frozenset({"zip"})) == KINDS["docx"].mime


def test_a_jpeg_recognised_as_jfif_is_accepted() -> None:
    assert check("jpg", b"\xff\xd8\xff\xe0", frozenset({"jfif", "jpe"})) == "image/jpeg"


# -- text formats ---------------------------------------------------------------------


def test_a_text_file_holding_a_nul_byte_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        check("txt", b"looks like text\x00but is not")


def test_a_text_file_carrying_a_binary_signature_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        check("txt", b"MZ this is an executable", frozenset({"exe"}))


def test_a_csv_that_is_really_a_zip_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        check("csv", b"PK\x03\x04rest", frozenset({"zip"}))


def test_a_text_file_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        check("txt", b"caf\xe9 au lait")


def test_a_text_sample_cut_inside_a_utf8_character_is_accepted() -> None:
    head = "price: 10 €".encode()[:-1]  # the sample ends mid-character
    assert check("txt", head) == "text/plain"


def test_an_empty_text_file_is_accepted() -> None:
    assert check("txt", b"") == "text/plain"


@pytest.mark.parametrize(("extension", "signature"), [("html", "html"), ("svg", "svg")])
def test_markup_recognised_by_the_sniffer_is_still_text(extension: str, signature: str) -> None:
    assert check(extension, b"<html></html>", frozenset({signature})) == KINDS[extension].mime


def test_a_json_file_the_sniffer_recognises_as_json_is_accepted() -> None:
    # Sniffers report "json" for a JSON object: that is the file being what it says.
    assert check("json", b'{"a": 1}', frozenset({"json"})) == "application/json"


# -- the declared type ----------------------------------------------------------------


def test_a_declared_type_for_another_format_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        check("png", PNG_HEAD, frozenset({"png"}), declared="image/gif")


def test_a_text_file_declared_as_html_is_refused() -> None:
    with pytest.raises(UnsupportedFileType):
        check("txt", b"<b>hi</b>", declared="text/html")


@pytest.mark.parametrize(
    ("extension", "alias"),
    [(extension, alias) for extension, aliases in sorted(ALIASES.items()) for alias in aliases],
)
def test_every_alias_is_accepted_and_the_canonical_type_is_stored(
    extension: str, alias: str
) -> None:
    head, sniffed = sample(extension)
    assert check(extension, head, sniffed, declared=alias) == KINDS[extension].mime


@pytest.mark.parametrize("declared", [None, "", "application/octet-stream", "binary/octet-stream"])
def test_a_generic_declared_type_is_accepted(declared: str | None) -> None:
    assert check("png", PNG_HEAD, frozenset({"png"}), declared=declared) == "image/png"


def test_a_text_format_may_be_declared_as_plain_text() -> None:
    assert check("csv", b"a,b\n1,2\n", declared="text/plain") == "text/csv"


def test_the_declared_type_is_compared_without_case_or_parameters() -> None:
    assert check("csv", b"a,b\n", declared="TEXT/CSV; charset=UTF-8") == "text/csv"


# -- what is never shown inline -------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/html", "image/svg+xml", "TEXT/HTML; charset=utf-8", "text/javascript"]
)
def test_markup_and_scripts_are_active(content_type: str) -> None:
    assert is_active(content_type)


@pytest.mark.parametrize("content_type", ["text/plain", "image/png", "application/pdf"])
def test_plain_content_is_not_active(content_type: str) -> None:
    assert not is_active(content_type)
