"""Who the client is: the peer address, or — behind a reverse proxy listed in ``ZHENGWU_TRUSTED_PROXIES`` — the
address the proxy says it forwarded for. Rate limits and the console's login throttle count per client.

Only proxies we trust may speak for a client: ``X-Forwarded-For`` is read from the right (the entries our own
proxies appended) and the first address that is not one of them is the client. Anything further left was
written by the client and proves nothing. With no trusted proxies the header is ignored altogether (a client
could otherwise pick a fresh address for every request and never be limited).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in trusted if entry.strip())


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    peer = request.client.host if request.client else "unknown"
    networks = _networks(tuple(trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = [part.strip() for part in ",".join(request.headers.getlist("x-forwarded-for")).split(",")]
    for address in reversed([part for part in forwarded if part]):
        if not _trusted(address, networks):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:  # garbage a proxy passed on: count it as the proxy itself
                return peer
    return peer
