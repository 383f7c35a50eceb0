"""The base URL guard: a stored key goes to a public https host, never inward."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.security.base_url_guard import SafeBaseUrlGuard, forbidden
from domain.llm.errors import UnsafeBaseUrl

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:4700:4700::1111"

PRIVATE_V4 = [
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]
PRIVATE_V6 = [
    ipaddress.IPv6Network(n)
    for n in ("::1/128", "::/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8")
]


class Dns:
    """A scripted resolver: name -> addresses; anything else fails like NXDOMAIN."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if host not in self.answers:
            raise OSError("Name or service not known")
        return self.answers[host]


def guard(dns: Dns | None = None, allowed: tuple[str, ...] = ()) -> SafeBaseUrlGuard:
    return SafeBaseUrlGuard(allowed, resolver=dns or Dns())


def check(url: str, dns: Dns | None = None, allowed: tuple[str, ...] = ()) -> str:
    return asyncio.run(guard(dns, allowed).check(url))


def refused(url: str, dns: Dns | None = None, allowed: tuple[str, ...] = ()) -> str:
    with pytest.raises(UnsafeBaseUrl) as caught:
        check(url, dns, allowed)
    assert caught.value.field == "base_url"
    return caught.value.detail


def v4_in(networks: list[ipaddress.IPv4Network]) -> st.SearchStrategy[ipaddress.IPv4Address]:
    return st.sampled_from(networks).flatmap(
        lambda n: st.builds(
            ipaddress.IPv4Address,
            st.integers(int(n.network_address), int(n.broadcast_address)),
        )
    )


def v4_forms(address: ipaddress.IPv4Address) -> list[str]:
    """Every way the C resolver (inet_aton) reads this address, and its IPv6 wrappings."""
    a, b, c, d = address.packed
    n = int(address)
    return [
        str(address),
        str(n),
        hex(n),
        hex(n).upper().replace("X", "x"),
        f"0{n:o}",
        ".".join(f"0{p:o}" for p in (a, b, c, d)),
        ".".join(hex(p) for p in (a, b, c, d)),
        f"{a}.{b}.{(c << 8) | d}",
        f"{a}.{(b << 16) | (c << 8) | d}",
        f"0{a:o}.{hex(b)}.{(c << 8) | d}",
        f"[::ffff:{address}]",
        f"[::ffff:{(a << 8) | b:x}:{(c << 8) | d:x}]",
        f"[0:0:0:0:0:ffff:{address}]",
        f"[::{address}]",
        f"[64:ff9b::{address}]",
        f"[2002:{(a << 8) | b:x}:{(c << 8) | d:x}::1]",
    ]


@given(address=v4_in(PRIVATE_V4), form=st.integers(min_value=0, max_value=15))
def test_a_private_ipv4_host_is_refused_in_every_textual_form(
    address: ipaddress.IPv4Address, form: int
) -> None:
    host = v4_forms(address)[form]
    dns = Dns()
    refused(f"https://{host}/v1", dns)
    assert dns.asked == []  # a literal is judged without asking DNS


@given(address=v4_in(PRIVATE_V4))
def test_every_form_of_a_private_ipv4_address_means_that_address(
    address: ipaddress.IPv4Address,
) -> None:
    """The forms above are what the guard recognises, not a different address by accident."""
    dotted = [f for f in v4_forms(address) if not f.startswith("[")]
    assert {check(f"http://{f}", allowed=(str(address),)) for f in dotted} == {f"http://{address}"}


@given(
    address=st.sampled_from(PRIVATE_V6).flatmap(
        lambda n: st.builds(
            ipaddress.IPv6Address,
            st.integers(int(n.network_address), int(n.broadcast_address)),
        )
    ),
    exploded=st.booleans(),
)
def test_a_private_ipv6_host_is_refused(address: ipaddress.IPv6Address, exploded: bool) -> None:
    text = address.exploded if exploded else address.compressed
    refused(f"https://[{text.upper() if exploded else text}]:8443/v1")


@given(
    private=st.one_of(
        v4_in(PRIVATE_V4).map(str),
        v4_in(PRIVATE_V4).map(lambda a: f"::ffff:{a}"),
        st.sampled_from(["::1", "fd00:ec2::254", "fe80::1%eth0", "169.254.169.254"]),
    ),
    publics=st.lists(st.sampled_from([PUBLIC_V4, PUBLIC_V6, "8.8.8.8"]), max_size=3),
    at=st.integers(min_value=0, max_value=3),
)
def test_a_name_is_refused_when_any_address_it_resolves_to_is_private(
    private: str, publics: list[str], at: int
) -> None:
    answers = list(publics)
    answers.insert(at % (len(answers) + 1), private)
    detail = refused("https://llm.example.com/v1", Dns({"llm.example.com": answers}))
    assert "private" in detail


def test_a_public_name_passes_and_comes_back_normalised() -> None:
    dns = Dns({"llm.example.com": [PUBLIC_V4, PUBLIC_V6]})
    assert check("  HTTPS://LLM.Example.COM:443/v1//  ", dns) == "https://llm.example.com/v1"
    assert dns.asked == [("llm.example.com", 443)]
    assert check("https://llm.example.com.:8443/openai/v1/", dns) == (
        "https://llm.example.com:8443/openai/v1"
    )
    assert dns.asked[-1] == ("llm.example.com", 8443)


def test_public_addresses_pass_in_canonical_form() -> None:
    assert check("https://134744072/v1") == "https://8.8.8.8/v1"
    assert check("https://0x08080808") == "https://8.8.8.8"
    assert check(f"https://[{PUBLIC_V6.upper()}]/v1/") == f"https://[{PUBLIC_V6}]/v1"


def test_an_unresolvable_name_is_refused() -> None:
    assert "could not be resolved" in refused("https://nowhere.example.com/v1")
    assert "could not be resolved" in refused(
        "https://empty.example.com", Dns({"empty.example.com": []})
    )


def test_a_resolver_that_hangs_is_given_up_on() -> None:
    async def hang(host: str, port: int) -> list[str]:
        await asyncio.sleep(30)
        return [PUBLIC_V4]

    slow = SafeBaseUrlGuard(resolver=hang, resolve_timeout=0.05)
    with pytest.raises(UnsafeBaseUrl, match="could not be resolved"):
        asyncio.run(slow.check("https://slow.example.com"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:7f00:1]",
        "https://2130706433",
        "https://0x7f000001",
        "https://0177.0.0.1",
        "https://127.1",
        "https://0",
        "https://[::]",
        "https://[fd00:ec2::254]",
        "https://100.100.100.200",
        "https://192.0.0.192",
        "https://[fe80::1%25eth0]",
    ],
)
def test_internal_addresses_are_refused(url: str) -> None:
    refused(url)


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "LOCALHOST.",
        "api.localhost",
        "metadata.google.internal",
        "metadata",
        "instance-data",
        "anything.internal",
        "printer.local",
    ],
)
def test_internal_names_are_refused_without_asking_dns(host: str) -> None:
    dns = Dns({host.lower().rstrip("."): [PUBLIC_V4]})
    assert "internal host" in refused(f"https://{host}/v1", dns)
    assert dns.asked == []


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://llm.example.com/v1", "https"),
        ("ftp://llm.example.com", "https"),
        ("llm.example.com/v1", "https"),
        ("https://user:pass@llm.example.com", "user name"),
        ("https://token@llm.example.com", "user name"),
        ("https://llm.example.com/v1#frag", "fragment"),
        ("https://llm.example.com/v1#", "fragment"),
        ("https://llm.example.com/v1?key=1", "query"),
        ("https://llm.example.com\\@127.0.0.1/", "backslash"),
        ("https://llm.example .com", "spaces"),
        ("https://llm.example.com/\x00", "control"),
        ("https://llm.example.com:99999", "port"),
        ("https://llm.example.com:0", "port"),
        ("https://", "absolute"),
        ("https://:8443/v1", "host"),
        ("https://[::1", "valid URL"),
        ("https://exa$mple.com", "host name"),
        ("", "characters"),
        ("https://a.example/" + "x" * 2100, "characters"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, complaint: str) -> None:
    assert complaint in refused(url, Dns({"llm.example.com": [PUBLIC_V4]}))


def test_an_allowed_private_host_may_use_http_and_skips_the_address_check() -> None:
    dns = Dns({"ollama.lan": ["192.168.1.20"]})
    allowed = ("Ollama.LAN", "127.0.0.1")
    assert check("http://ollama.lan:11434/v1/", dns, allowed) == "http://ollama.lan:11434/v1"
    assert check("https://ollama.lan/v1", dns, allowed) == "https://ollama.lan/v1"
    assert check("http://2130706433:11434", dns, allowed) == "http://127.0.0.1:11434"
    assert dns.asked == []
    refused("http://127.0.0.2:11434", dns, allowed)
    refused("http://user:pw@ollama.lan:11434", dns, allowed)
    refused("gopher://ollama.lan", dns, allowed)


def test_a_non_ascii_name_is_checked_in_its_ascii_form() -> None:
    dns = Dns({"xn--bcher-kva.example": [PUBLIC_V4]})
    assert check("https://bücher.example/v1", dns) == "https://xn--bcher-kva.example/v1"


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", PUBLIC_V4, PUBLIC_V6, "2a00:1450:4001:80b::200e", "2002:808:808::1"],
)
def test_public_addresses_are_not_forbidden(address: str) -> None:
    assert not forbidden(ipaddress.ip_address(address))
