"""Where a stored key may be sent: a public https host, nothing internal.

A base URL names the server a workspace's API key is sent to with every call,
so it must not reach the service's own network (SSRF): loopback, private,
link-local, shared (CGNAT), reserved and multicast addresses and the cloud
metadata endpoints are refused, whether the host is written as an address
(in any of the forms the C resolver accepts: ``2130706433``, ``0x7f000001``,
``0177.0.0.1``, ``127.1``, ``[::ffff:127.0.0.1]`` …) or is a name that
resolves to one. Every address a name resolves to must pass.

What this cannot see: a name that resolves to a public address now and to a
private one later (DNS rebinding). The caller re-checks when its cache of the
credential expires; the HTTP client connecting later resolves again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import SplitResult, urlsplit

from application.ports.llm_credentials import BaseUrlGuard
from domain.llm.errors import UnsafeBaseUrl

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> every address the name resolves to, as text
Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_URL_LENGTH = 2048
FIELD = "base_url"

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
BLOCKED_V4 = (
    _V4("0.0.0.0/8"),  # "this network"
    _V4("10.0.0.0/8"),
    _V4("100.64.0.0/10"),  # shared address space (carrier-grade NAT)
    _V4("127.0.0.0/8"),
    _V4("169.254.0.0/16"),  # link-local, cloud metadata (169.254.169.254)
    _V4("172.16.0.0/12"),
    _V4("192.0.0.0/24"),  # IETF protocol assignments (Oracle metadata 192.0.0.192)
    _V4("192.0.2.0/24"),
    _V4("192.168.0.0/16"),
    _V4("198.18.0.0/15"),
    _V4("198.51.100.0/24"),
    _V4("203.0.113.0/24"),
    _V4("224.0.0.0/4"),  # multicast
    _V4("240.0.0.0/4"),  # reserved, broadcast
)
BLOCKED_V6 = (
    _V6("::/128"),
    _V6("::1/128"),
    _V6("64:ff9b:1::/48"),  # local-use NAT64
    _V6("100::/64"),  # discard
    _V6("2001::/23"),  # IETF protocol assignments (Teredo, benchmarking, ORCHID)
    _V6("2001:db8::/32"),  # documentation
    _V6("fc00::/7"),  # unique local (AWS metadata fd00:ec2::254)
    _V6("fe80::/10"),  # link-local
    _V6("fec0::/10"),  # site-local (deprecated)
    _V6("ff00::/8"),  # multicast
)
NAT64 = _V6("64:ff9b::/96")
V4_COMPATIBLE = _V6("::/96")

# Names that are internal by definition, or are a cloud's metadata service.
BLOCKED_NAMES = frozenset(
    {
        "localhost",
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
        "kubernetes.default",
        "kubernetes.default.svc",
    }
)
BLOCKED_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")
_IPV4_LIKE = re.compile(r"[0-9a-fx.]+")


def unsafe(reason: str) -> UnsafeBaseUrl:
    return UnsafeBaseUrl(f"base_url {reason}", field=FIELD)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries: mapped, compatible, 6to4 or NAT64."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64 or (address in V4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def forbidden(address: IpAddress) -> bool:
    """True for any address that is not plainly public and unicast."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return True
        inner = embedded_ipv4(address)
        if inner is not None and forbidden(inner):
            return True
        if any(address in network for network in BLOCKED_V6):
            return True
    elif any(address in network for network in BLOCKED_V4):
        return True
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def ip_literal(host: str) -> IpAddress | None:
    """The address a host names literally, read as the C resolver reads it
    (``inet_aton``: decimal, hex and octal parts, 1 to 4 of them), or None for a name."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise unsafe("has a malformed IPv6 address.") from None
    if not _IPV4_LIKE.fullmatch(host) or not host[0].isdigit():
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None  # "1e3", "0xg" … are names (and will not resolve)


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


class SafeBaseUrlGuard(BaseUrlGuard):
    def __init__(
        self,
        allowed_private_hosts: Iterable[str] = (),
        *,
        resolver: Resolver = system_resolver,
        resolve_timeout: float = 5.0,
    ) -> None:
        self._allowed = frozenset(h.strip().lower().rstrip(".") for h in allowed_private_hosts)
        self._resolve = resolver
        self._timeout = resolve_timeout

    async def check(self, url: str) -> str:
        parts = self._split(url)
        host = self._host(parts)
        literal = ip_literal(host)
        shown = host if literal is None else self._shown(literal)
        allowed = bool({host, shown, literal.compressed if literal else host} & self._allowed)
        scheme = parts.scheme.lower()
        if scheme != "https" and not (allowed and scheme == "http"):
            raise unsafe("must use https.")
        port = self._port(parts)
        if not allowed:
            if literal is not None:
                if forbidden(literal):
                    raise unsafe("points at a private, loopback or reserved address.")
            else:
                await self._check_name(host, port or 443)
        default_port = 443 if scheme == "https" else 80
        authority = shown if port in (None, default_port) else f"{shown}:{port}"
        path = parts.path.rstrip("/")
        return f"{scheme}://{authority}{path}"

    def _split(self, url: str) -> SplitResult:
        raw = url.strip()
        if not raw or len(raw) > MAX_URL_LENGTH:
            raise unsafe(f"must be 1 to {MAX_URL_LENGTH} characters.")
        if any(c.isspace() or ord(c) < 32 or ord(c) == 127 or c == "\\" for c in raw):
            raise unsafe("must not contain spaces, control characters or backslashes.")
        try:
            parts = urlsplit(raw)
        except ValueError:
            raise unsafe("is not a valid URL.") from None
        if "#" in raw:
            raise unsafe("must not have a fragment.")
        if "?" in raw:
            raise unsafe("must not have a query string.")
        if "@" in parts.netloc:
            raise unsafe("must not contain a user name or password.")
        if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
            raise unsafe("must be an absolute https:// URL.")
        return parts

    def _host(self, parts: SplitResult) -> str:
        host = parts.hostname or ""
        if "%" in host:
            raise unsafe("must not name an IPv6 zone.")
        if host.endswith(".") and not host.endswith(".."):
            host = host[:-1]
        if not host:
            raise unsafe("has no host.")
        if ":" in host:
            return host  # an IPv6 literal, read by ip_literal
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise unsafe("has an invalid host name.") from None
        if not _HOST_NAME.fullmatch(host):
            raise unsafe("has an invalid host name.")
        return host

    @staticmethod
    def _port(parts: SplitResult) -> int | None:
        try:
            port = parts.port
        except ValueError:
            raise unsafe("has an invalid port.") from None
        if port == 0:
            raise unsafe("has an invalid port.")
        return port

    @staticmethod
    def _shown(address: IpAddress) -> str:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed

    async def _check_name(self, host: str, port: int) -> None:
        if host in BLOCKED_NAMES or host.endswith(BLOCKED_SUFFIXES):
            raise unsafe("names an internal host.")
        try:
            async with asyncio.timeout(self._timeout):
                found = await self._resolve(host, port)
        except (OSError, TimeoutError, UnicodeError):
            raise unsafe("names a host that could not be resolved.") from None
        if not found:
            raise unsafe("names a host that could not be resolved.")
        for text in found:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                raise unsafe("names a host that could not be resolved.") from None
            if forbidden(address):
                raise unsafe("names a host that resolves to a private or reserved address.")
