"""XML-RPC (slides "XML-RPC"): the slides' results, with quadratic corrected."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab("xmlrpc")

CALLS = """
from xmlrpc.client import *
proxy = ServerProxy('http://xmlrpc:7001')
def attempt(call):
    try:
        return repr(call())
    except Fault as fault:
        return 'Fault %d' % fault.faultCode
print(proxy.addtogether('x', 'y', 'z'))
print(proxy.addtogether(1, 2, 3, 4, 5))
print(proxy.quadratic(2, -4, 0))
print(proxy.quadratic(1, 2, 1))
print(sorted(m for m in proxy.system.listMethods() if not m.startswith('system.')))
multi = MultiCall(proxy)
multi.addtogether(1, 2)
multi.quadratic(1, 0, -1)
print(list(multi()))
print(attempt(lambda: proxy.quadratic('a', 1, 2)))
print(attempt(lambda: proxy.addtogether()))
print(attempt(lambda: proxy.addtogether(1, 'x')))
print(attempt(lambda: proxy.quadratic(0, 1, 1)))
print(attempt(lambda: proxy.quadratic(1, 2)))
print(proxy.addtogether(40, 2))
"""


def test_slides_results_introspection_multicall_and_faults(lab) -> None:
    result = lab.python("client", CALLS)
    lines = result.stdout.splitlines()
    assert result.exit_code == 0, result.output
    assert lines[:4] == ["xyz", "15", "[0.0, 2.0]", "[-1.0]"], (
        f"expected the slides' answers with quadratic(2, -4, 0) == [0.0, 2.0]; got {lines[:4]}"
    )
    assert lines[4] == "['addtogether', 'quadratic']"
    assert lines[5] == "[3, [-1.0, 1.0]]"
    assert all(line.startswith("Fault") for line in lines[6:11]), f"bad arguments must give Faults, got {lines[6:11]}"
    assert lines[11] == "42", "the server must keep serving after Faults"
