#!/usr/bin/env python3
"""names HOST [SERVICE]: what the resolver knows about a host (slides
"IPv4 Names", "IPv4-IPv6 Names" and "Network Exceptions").

gethostbyname and gethostbyname_ex know IPv4 only; getaddrinfo knows both
families, which is why a program meant to work over IPv6 should use it.
"""

import argparse
import sys
from socket import (
    AF_INET,
    AF_INET6,
    EAI_SERVICE,
    SOCK_STREAM,
    gaierror,
    getaddrinfo,
    gethostbyaddr,
    gethostbyname,
    gethostbyname_ex,
    herror,
)


def addresses(host: str, service: str | None, family: int) -> list[tuple]:
    """The distinct socket addresses of host in one family, in
    getaddrinfo's order; [] when the host has none."""
    try:
        infolist = getaddrinfo(host, service, family, SOCK_STREAM)
    except gaierror as error:
        if error.errno == EAI_SERVICE:
            raise
        return []
    return list(dict.fromkeys(info[4][:2] for info in infolist))


def main() -> None:
    parser = argparse.ArgumentParser(description="Look a host up the ways the lecture shows.")
    parser.add_argument("host")
    parser.add_argument("service", nargs="?", help="a port number or a name such as 'www'")
    args = parser.parse_args()

    try:
        ipv4 = addresses(args.host, args.service, AF_INET)
        ipv6 = addresses(args.host, args.service, AF_INET6)
    except gaierror:
        print("This service does not seem to exist")
        sys.exit(1)
    if not ipv4 and not ipv6:
        print("This host does not seem to exist")
        sys.exit(1)

    try:
        print("gethostbyname:", gethostbyname(args.host))
        print("gethostbyname_ex:", gethostbyname_ex(args.host))
    except gaierror:
        print("gethostbyname: no IPv4 address")
    print("getaddrinfo AF_INET:", " ".join(address for address, _ in ipv4) or "no IPv4 address")
    print("getaddrinfo AF_INET6:", " ".join(address for address, _ in ipv6) or "no IPv6 address")
    first, port = (ipv4 + ipv6)[0]
    if args.service:
        print("port:", port)
    try:
        print(f"gethostbyaddr {first}:", gethostbyaddr(first))
    except (herror, gaierror) as error:
        print(f"gethostbyaddr {first}: this address has no name ({error.strerror})")


if __name__ == "__main__":
    main()
