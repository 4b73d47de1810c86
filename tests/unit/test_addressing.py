import ipaddress

from socklab.addressing import choose, translate


def test_preferred_subnet_kept_when_free() -> None:
    want = ipaddress.ip_network("10.77.1.0/24")
    assert choose(want, [ipaddress.ip_network("172.17.0.0/16")], 4) == want


def test_taken_subnet_moves_and_addresses_follow() -> None:
    want = ipaddress.ip_network("10.77.1.0/24")
    actual = choose(want, [want], 4)
    assert actual != want and actual.prefixlen == 24 and not actual.overlaps(want)
    moved = translate(ipaddress.ip_address("10.77.1.10"), want, actual)
    assert moved in actual and int(moved) - int(actual.network_address) == 10


def test_skip_gives_distinct_free_subnets() -> None:
    want = ipaddress.ip_network("10.77.1.0/24")
    assert choose(want, [], 4, skip=1) != choose(want, [], 4, skip=2)
