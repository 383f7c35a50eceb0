"""Who is calling: the client address, honouring X-Forwarded-For only from
proxies the operator trusts.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()
    )


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(request: Request[Any, Any, Any], proxies: tuple[Network, ...]) -> str | None:
    peer = request.client.host if request.client else None
    if not peer or not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return peer


def user_agent(request: Request[Any, Any, Any]) -> str | None:
    value = request.headers.get("user-agent")
    return value[:512] if value else None
