"""Choosing subnets that never collide with existing Docker networks.

A lab file's subnets are preferences. When one is taken (by another
instance of the same lab, or anything else), the lab moves to a free subnet
of the same size and its fixed addresses move with it, keeping their host
part, so two instances of a lab can run side by side.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, Optional, overload

from .errors import SocklabError
from .model import IPAddress, IPNetwork

POOL4 = ipaddress.IPv4Network("10.128.0.0/9")
POOL6 = ipaddress.IPv6Network("fd5c:0::/32")


def choose(preferred: Optional[IPNetwork], used: Iterable[IPNetwork], version: int, skip: int = 0) -> IPNetwork:
    """The preferred subnet when free, else the ``skip``-th free one of its size."""
    used = [u for u in used if u.version == version]
    if preferred is not None and skip == 0 and not any(preferred.overlaps(u) for u in used):
        return preferred
    prefix = preferred.prefixlen if preferred is not None else (24 if version == 4 else 64)
    pool = POOL4 if version == 4 else POOL6
    free = 0
    for candidate in pool.subnets(new_prefix=prefix):
        if not any(candidate.overlaps(u) for u in used):
            if free == skip:
                return candidate
            free += 1
    raise SocklabError(f"no free /{prefix} left in {pool}: take labs down (socklab status lists them)")


@overload
def translate(address: IPAddress, declared: Optional[IPNetwork], actual: Optional[IPNetwork]) -> IPAddress: ...
@overload
def translate(address: None, declared: Optional[IPNetwork], actual: Optional[IPNetwork]) -> None: ...
@overload
def translate(
    address: Optional[IPAddress], declared: Optional[IPNetwork], actual: Optional[IPNetwork]
) -> Optional[IPAddress]: ...


def translate(
    address: Optional[IPAddress], declared: Optional[IPNetwork], actual: Optional[IPNetwork]
) -> Optional[IPAddress]:
    """Move an address from its declared subnet to the actual one, same host part."""
    if address is None or declared is None or actual is None or declared == actual:
        return address
    offset = int(address) - int(declared.network_address)
    return ipaddress.ip_address(int(actual.network_address) + offset)
