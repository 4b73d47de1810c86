"""The socklab pytest plugin: labs as fixtures, torn down whatever happens.

    @pytest.mark.lab("udp-loss")
    def test_something(lab):
        assert lab.exec("client", ["true"]).exit_code == 0

The ``lab`` fixture brings up the lab named by the closest ``lab`` marker
(module scope by default: ``--lab-scope`` or the ``socklab_scope`` ini
option change it). Labs are ephemeral: labelled with this process, removed
at teardown, at session end, on Ctrl-C, and found as stale by the next run
if this one is killed. ``--keep-labs`` keeps a failed test's lab up.
"""

from __future__ import annotations

import os
from typing import Generator, Iterator, Literal, cast

import pytest

from .docker_backend import DockerBackend
from .images import ensure_images
from .lab import Options, RunningLab, remove_stale, up
from .labfile import load_lab
from .links import netem_available


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("socklab")
    group.addoption(
        "--keep-labs", action="store_true", help="keep a lab up when a test using it failed, for inspection"
    )
    group.addoption(
        "--lab-scope", choices=["function", "module", "session"], help="lifetime of the lab fixture (default: module)"
    )
    group.addoption("--socklab-lab", metavar="NAME", help="run only the tests marked with this lab")
    parser.addini("socklab_scope", "lifetime of the lab fixture", default="module")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lab(name): run the test against this socklab lab")
    config.stash[_labs_key] = LabPool(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("--socklab-lab")
    if not wanted:
        return
    selected = [item for item in items if (m := item.get_closest_marker("lab")) and m.args and m.args[0] == wanted]
    config.hook.pytest_deselected(items=[item for item in items if item not in selected])
    items[:] = selected


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``netem`` skips, before its lab comes up, on a kernel without sch_netem."""
    if item.get_closest_marker("netem") and not netem_available(item.config.stash[_labs_key].backend):
        pytest.skip(
            "this kernel has no sch_netem: the netem backend cannot run here (tc: 'Specified qdisc kind is unknown')"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for running in item.config.stash[_labs_key].used_by(item):
            running.failed = True
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    session.config.stash[_labs_key].close(keep_failed=session.config.getoption("--keep-labs"))


class PoolLab(RunningLab):
    """A RunningLab that remembers whether a test using it failed."""

    failed = False


class LabPool:
    """The labs this pytest process brought up, so that none outlives it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.running: dict[str, PoolLab] = {}
        self._backend: DockerBackend | None = None
        self._users: dict[str, set[str]] = {}

    @property
    def backend(self) -> DockerBackend:
        if self._backend is None:
            self._backend = DockerBackend()
            remove_stale(self._backend)
            ensure_images(self._backend.client)
        return self._backend

    def bring_up(self, name: str, user: pytest.Item | None = None) -> PoolLab:
        lab = load_lab(name)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        instance = f"{lab.name}-t{os.getpid()}{worker[-2:]}-{len(self.running)}"
        up(lab, self.backend, Options(instance=instance, ephemeral=True))
        attached = RunningLab.attach(self.backend, instance)
        running = PoolLab(self.backend, instance, attached.lab, attached.containers, attached.helpers)
        self.running[instance] = running
        return running

    def note_user(self, running: PoolLab, item: pytest.Item) -> None:
        self._users.setdefault(item.nodeid, set()).add(running.instance)

    def used_by(self, item: pytest.Item) -> list[PoolLab]:
        return [self.running[i] for i in self._users.get(item.nodeid, ()) if i in self.running]

    def release(self, running: PoolLab) -> None:
        if running.failed and self.config.getoption("--keep-labs"):
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter:
                reporter.write_line(
                    f"socklab: kept lab {running.instance} after a failure; "
                    f"remove it with: socklab down {running.instance}"
                )
            self.running.pop(running.instance, None)
            return
        running.down()
        self.running.pop(running.instance, None)

    def close(self, keep_failed: bool) -> None:
        for running in list(self.running.values()):
            if not (keep_failed and running.failed):
                running.down()
        self.running.clear()


_labs_key = pytest.StashKey[LabPool]()


Scope = Literal["session", "package", "module", "class", "function"]


def _scope(fixture_name: str, config: pytest.Config) -> Scope:
    return cast(Scope, config.getoption("--lab-scope") or config.getini("socklab_scope") or "module")


@pytest.fixture(scope=_scope)
def lab(request: pytest.FixtureRequest) -> Iterator[PoolLab]:
    """The running lab named by the closest ``@pytest.mark.lab(NAME)``."""
    marker = request.node.get_closest_marker("lab")
    if marker is None or not marker.args:
        raise pytest.UsageError(
            f"{request.node.nodeid}: the 'lab' fixture needs @pytest.mark.lab(NAME) (or pytestmark)"
        )
    pool: LabPool = request.config.stash[_labs_key]
    running = pool.bring_up(marker.args[0])
    try:
        yield running
    finally:
        pool.release(running)


@pytest.fixture(autouse=True)
def _socklab_track_lab_users(request: pytest.FixtureRequest) -> None:
    """Record which labs a test used, so a failure can keep exactly those."""
    if "lab" in request.fixturenames:
        request.config.stash[_labs_key].note_user(request.getfixturevalue("lab"), request.node)


@pytest.fixture(scope="session")
def socklab_pool(request: pytest.FixtureRequest) -> LabPool:
    """Bring up further labs by name: ``socklab_pool.bring_up("broadcast")``."""
    return request.config.stash[_labs_key]
