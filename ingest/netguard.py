"""Refuse requests to non-public destinations, checked on the address actually connected to.

The check runs inside the connection backend, after DNS resolution, so a hostname that resolves
to a private address (DNS rebinding, ``localhost.``, ``0x7f.1``, ``2130706433``) is refused at
connect time, on every redirect hop, whatever the URL looked like.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence

import httpcore
from httpcore._backends.sync import SyncBackend, SyncStream

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# getaddrinfo's "no such name" and "no address for it"; EAI_AGAIN (resolver trouble) is not here.
_NO_SUCH_NAME = {socket.EAI_NONAME} | ({socket.EAI_NODATA} if hasattr(socket, "EAI_NODATA") else set())


class BlockedDestination(httpcore.ConnectError):
    """The destination address is not public and no allowed network covers it."""


class UnresolvableHost(httpcore.ConnectError):
    """DNS answered that the name does not exist (or has no address): an authoritative answer
    that resolvers cache, so asking again within the run gets the same one."""


def parse_networks(cidrs: Iterable[str]) -> list[IPNetwork]:
    """Parse CIDR strings such as ``127.0.0.1/32``; raise ValueError naming a bad one."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"invalid network {cidr!r}: {exc}") from None
    return networks


def is_public(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses only."""
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if mapped is not None:
            return is_public(mapped)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


class AddressPolicy:
    """Which destination addresses a request may connect to."""

    def __init__(self, allowed_networks: Sequence[IPNetwork] = ()) -> None:
        self.allowed_networks = list(allowed_networks)

    def permits(self, ip: IPAddress) -> bool:
        """Public addresses, plus any address inside an explicitly allowed network."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip.version == net.version and ip in net for net in self.allowed_networks):
            return True
        return is_public(ip)

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Resolve ``host`` and return its addresses; raise BlockedDestination if any is refused.

        Refusing when *any* address is non-public stops a name that mixes a public and a
        private record from reaching the private one on a retry.
        """
        name = host.rstrip(".").lower()
        if name == "localhost" or name.endswith(".localhost"):
            # RFC 6761: always loopback, whatever a resolver (or its absence) says.
            host = "127.0.0.1"
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            if exc.errno in _NO_SUCH_NAME:
                raise UnresolvableHost(f"cannot resolve {host!r}: {exc}") from exc
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
        addresses: list[IPAddress] = []
        for info in infos:
            ip = ipaddress.ip_address(info[4][0].split("%")[0])
            if not self.permits(ip):
                raise BlockedDestination(
                    f"destination {host!r} resolves to non-public address {ip}; "
                    "allow its network explicitly (--allow-network) to fetch it"
                )
            if ip not in addresses:
                addresses.append(ip)
        return addresses


class GuardedBackend(SyncBackend):
    """httpcore network backend that connects only to addresses the policy permits."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[tuple] | None = None,
    ) -> httpcore.NetworkStream:
        last_error: OSError | None = None
        for ip in self.policy.resolve(host, port):
            try:
                sock = socket.create_connection((str(ip), port), timeout=timeout)
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(str(exc) or "connect timed out") from exc
            except OSError as exc:
                last_error = exc
                continue
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return SyncStream(sock)
        raise httpcore.ConnectError(f"cannot connect to {host}:{port}: {last_error}")

    def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover - never allowed
        raise BlockedDestination("unix sockets are not allowed")
