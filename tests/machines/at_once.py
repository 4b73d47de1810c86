"""A pytest plugin for the guests' steps: each failure is reported when it
happens, not at the end of the session, so that a step killed at its time
limit (the netem twins under emulation) still shows why its tests failed."""

from __future__ import annotations

from typing import Optional

import pytest

_config: Optional[pytest.Config] = None


def pytest_configure(config: pytest.Config) -> None:
    global _config
    _config = config


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    terminal = _config.pluginmanager.get_plugin("terminalreporter") if _config is not None else None
    if report.failed and terminal is not None:
        terminal.write_line("")
        terminal.write_line(f"FAILED {report.nodeid} ({report.when}, {report.duration:.0f} s):", red=True)
        terminal.write_line(report.longreprtext)
        terminal.flush()  # pytest's output to a file is block-buffered: the guest's step log is one
