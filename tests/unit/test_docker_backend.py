"""Network removal while another run is still taking the same stale lab apart."""

from __future__ import annotations

import docker.errors
import pytest

from socklab.docker_backend import DockerBackend


class Api:
    """Answers remove_network with the given errors, then succeeds."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    def remove_network(self, network_id: str) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)


def backend(api: Api) -> DockerBackend:
    made = object.__new__(DockerBackend)
    made.api = api  # type: ignore[assignment]
    return made


def busy() -> docker.errors.APIError:
    return docker.errors.APIError("403 Client Error: error while removing network: network lab has active endpoints")


def test_waits_for_endpoints_that_are_going_away() -> None:
    api = Api([busy(), busy()])
    backend(api)._remove_network("n1", patience=5)
    assert api.calls == 3


def test_gone_already_is_fine() -> None:
    api = Api([docker.errors.NotFound("no such network")])
    backend(api)._remove_network("n1")
    assert api.calls == 1


def test_endpoints_that_stay_are_an_error_after_the_patience() -> None:
    api = Api([busy()] * 100)
    with pytest.raises(docker.errors.APIError, match="active endpoints"):
        backend(api)._remove_network("n1", patience=0.6)
    assert 2 <= api.calls <= 3


def test_other_refusals_are_not_waited_for() -> None:
    api = Api([docker.errors.APIError("500 Server Error: something else")])
    with pytest.raises(docker.errors.APIError, match="something else"):
        backend(api)._remove_network("n1")
    assert api.calls == 1
