"""Lab diagrams: the DOT shows everything in the lab, dot draws it, and the
shipped diagrams match their labs.

The shipped SVGs are compared through the digest of their DOT source that
``render`` writes into them, not byte for byte: dot's layout and its SVG
differ between Graphviz versions, the DOT does not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from socklab.dot import host_dot
from socklab.errors import BadInput
from socklab.graph import diagrams_dir, digest, dot_source, render
from socklab.labfile import labs_dir, load_lab

LABS = sorted(labs_dir().glob("*.yaml"))
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz dot is an optional host tool and is not installed (the container fallback is tested in tests/lab)",
)


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.stem)
def test_dot_mentions_every_node_network_and_link(path: Path) -> None:
    lab = load_lab(path)
    source = dot_source(lab)
    for node in lab.nodes:
        assert f'"node:{node}" [' in source
    for net in lab.networks.values():
        assert f'"net:{net.name}" [' in source
        assert str(net.subnet) in source
    for node in lab.nodes.values():
        for att in node.networks:
            assert f'"node:{node.name}"' in source and f'"net:{att.network}"' in source
            if att.address is not None:
                assert str(att.address) in source
    for link in lab.links.values():
        assert f"<b>{link.name}</b>" in source


def test_link_shows_both_directions() -> None:
    lab = load_lab("udp-loss")
    source = dot_source(lab)
    edge = next(line for line in source.splitlines() if "wan" in line)
    assert '"node:client" -- "node:server"' in edge
    assert "dashed" in edge and "#d00000" in edge
    assert "client → server: loss 20%" in edge
    assert "server → client: loss 20%" in edge


def test_router_is_drawn_apart() -> None:
    source = dot_source(load_lab("broadcast"))
    router = next(line for line in source.splitlines() if line.startswith('  "node:router" ['))
    client = next(line for line in source.splitlines() if line.startswith('  "node:client" ['))
    assert "peripheries=2" in router and "peripheries=2" not in client
    assert "route 10.77.7.0/24 via router" in client


@needs_dot
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG\r\n\x1a\n")])
def test_render_writes_the_format_of_the_suffix(tmp_path: Path, suffix: str, magic: bytes) -> None:
    dot = host_dot()
    assert dot is not None
    output = render(load_lab("udp-loss"), tmp_path / "sub" / f"udp-loss{suffix}", dot)
    data = output.read_bytes()
    assert data.startswith(magic)
    if suffix == ".svg":
        assert b"<svg" in data and digest(dot_source(load_lab("udp-loss"))).encode() in data


def test_render_refuses_other_suffixes(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"\.svg or \.png"):
        render(load_lab("udp-echo"), tmp_path / "x.pdf", lambda options, source: b"")


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.stem)
def test_shipped_diagram_is_not_stale(path: Path) -> None:
    svg = diagrams_dir() / f"{path.stem}.svg"
    hint = f"run socklab graph {path.stem} -o labs/diagrams/{path.stem}.svg (or python3 -m socklab.graph for every lab)"
    assert svg.is_file(), f"labs/diagrams/{path.stem}.svg is missing: {hint}"
    assert digest(dot_source(load_lab(path))) in svg.read_text(encoding="utf-8"), (
        f"labs/diagrams/{path.stem}.svg is stale: {hint}"
    )


def test_no_orphan_diagram() -> None:
    orphans = {p.stem for p in diagrams_dir().glob("*.svg")} - {p.stem for p in LABS}
    assert not orphans, f"diagrams without a lab: {sorted(orphans)}: remove them"
