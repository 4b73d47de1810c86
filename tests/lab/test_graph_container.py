"""``socklab graph`` on a host without Graphviz: ``dot`` runs in socklab/graphviz."""

from __future__ import annotations

from pathlib import Path

import pytest

from socklab import graph, images
from socklab.docker_backend import connect
from socklab.graph import digest, dot_source, render
from socklab.labfile import load_lab


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG\r\n\x1a\n")])
def test_render_without_host_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, magic: bytes) -> None:
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    assert graph.host_dot() is None
    output = render(load_lab("udp-loss"), tmp_path / f"udp-loss{suffix}", images.find_dot())
    data = output.read_bytes()
    assert data.startswith(magic)
    if suffix == ".svg":
        assert digest(dot_source(load_lab("udp-loss"))).encode() in data
    left = connect().containers.list(all=True, filters={"label": f"{images.IMAGE_ROLE}=graphviz"})
    assert not left, f"dot containers left behind: {[c.name for c in left]}"
