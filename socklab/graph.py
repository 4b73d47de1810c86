"""Diagrams of a lab's topology, for exercise sheets and the README.

``dot_source`` writes Graphviz DOT; ``render`` runs Graphviz's ``dot`` on it: the
host's where installed, else one in a container (``socklab.dot``).
The drawing reads left to right: clients, then their networks, then the
servers on them; a router sits between the networks it joins, and a lossy
link is a red dashed edge carrying its impairment in both directions.

``python3 -m socklab.graph`` redraws ``labs/diagrams/*.svg`` and the README's
images; a unit test fails when a diagram no longer matches its lab.
"""

from __future__ import annotations

import hashlib
import html
import textwrap
from pathlib import Path
from typing import Callable

from .catalog import SERVICES
from .errors import BadInput
from .labfile import labs_dir, load_lab
from .model import Attachment, IPAddress, Lab, Link, Network, Node

FONT = "Helvetica,Arial,sans-serif"
FORMATS = {".svg": "svg", ".png": "png"}
PNG_DPI = 144  # sharp enough for a projector and a README
README_IMAGES = ("lecture", "udp-loss")
DIGEST_COMMENT = "socklab dot sha256 "  # no "-": dot escapes it in SVG comments

NETWORK_STYLE = 'shape=ellipse style=filled fillcolor="#dbe8fb" color="#3b6db3" penwidth=1.5'
NODE_STYLES = {
    "router": 'shape=box style="filled,bold" fillcolor="#ffd8a8" color="#c2410c" penwidth=2 peripheries=2',
    "client": 'shape=box style="rounded,filled" fillcolor="#fff4c2" color="#8a6d00"',
    "server": 'shape=box style="rounded,filled" fillcolor="#dcf5dc" color="#2e7d32"',
}
DEFAULT_NODE_STYLE = 'shape=box style="rounded,filled" fillcolor="#eeeeee" color="#555555"'
LINK_STYLE = 'color="#d00000" fontcolor="#b00000" style="bold,dashed" penwidth=2.5 fontsize=13 constraint=false'


def _id(kind: str, name: str) -> str:
    """Nodes and networks live in separate name spaces in a lab, not in DOT."""
    return f'"{kind}:{name}"'


def _small(text: str, size: int = 11, color: str = "#333333") -> str:
    return f'<font point-size="{size}" color="{color}">{html.escape(text)}</font>'


def _network_label(net: Network) -> str:
    lines = [f"<b>{html.escape(net.name)}</b>"]
    lines += [_small(str(s), 12) for s in (net.subnet, net.subnet6) if s is not None]
    lines.append(_small("internal" if net.internal else "not internal", 10, "#555555"))
    return "<" + "<br/>".join(lines) + ">"


def _node_label(lab: Lab, node: Node) -> str:
    """Name, then what runs there (service, role, port: each once), then routes."""
    what = [node.service or node.image, node.role]
    spec = SERVICES.get(node.service or "")
    if spec is not None and spec.port is not None:
        what.append(f"{(spec.protocol or '').upper()} {spec.port}")
    what = [w for w in dict.fromkeys(what) if w != node.name]
    lines = [f'<font point-size="15"><b>{html.escape(node.name)}</b></font>']
    if what:
        lines.append(_small(" · ".join(what)))
    lines += [_small(f"route {r.to} via {_holder(lab, r.via)}", 10, "#555555") for r in node.routes]
    return "<" + "<br/>".join(lines) + ">"


def _holder(lab: Lab, address: IPAddress) -> str:
    """The node holding a fixed address, which says more than the address."""
    for node in lab.nodes.values():
        if any(address in (att.address, att.address6) for att in node.networks):
            return node.name
    return str(address)


def _address_label(att: Attachment) -> str:
    addresses = [str(a) for a in (att.address, att.address6) if a is not None]
    if not addresses:
        return f"<{_small('assigned by Docker', 10, '#666666')}>"
    return "<" + "<br/>".join(_small(a, 11, "#1f3f73") for a in addresses) + ">"


def _link_label(link: Link) -> str:
    lines = [f"<b>{html.escape(link.name)}</b>"]
    for direction, impairment in link.directions.items():
        lines.append(html.escape(f"{direction.replace('->', ' → ')}: {impairment.describe()}"))
    lines.append(_small(f"backend {link.backend} · seed {link.seed}", 10, "#b00000"))
    return "<" + "<br/>".join(lines) + ">"


def _attachment_edges(node: Node) -> list[str]:
    """Edges in reading order: a client points into its networks, a router
    leaves its first network for the others, everything else hangs off
    its networks; dot ranks along that order."""
    edges = []
    for index, att in enumerate(node.networks):
        node_first = node.role == "client" or (node.router and index > 0)
        ends = (_id("node", node.name), _id("net", att.network))
        tail, head = ends if node_first else ends[::-1]
        edges.append(f"  {tail} -- {head} [label={_address_label(att)}];")
    return edges


def dot_source(lab: Lab) -> str:
    """The lab as a Graphviz graph: deterministic text, one statement a line."""
    title = "<br/>".join(html.escape(line) for line in textwrap.wrap(lab.description, 70))
    lines = [
        f"graph {_id('lab', lab.name)} {{",
        "  rankdir=LR; nodesep=0.35; ranksep=0.7; pad=0.3; newrank=true;",
        f'  fontname="{FONT}"; fontsize=14; labelloc=t;',
        f'  label=<<font point-size="20"><b>{html.escape(lab.name)}</b></font>'
        + (f"<br/>{title}" if title else "")
        + ">;",
        f'  node [fontname="{FONT}" fontsize=13 margin="0.2,0.08"];',
        f'  edge [fontname="{FONT}" fontsize=11 color="#6b7a90" penwidth=1.3];',
    ]
    for net in lab.networks.values():
        lines.append(f"  {_id('net', net.name)} [{NETWORK_STYLE} label={_network_label(net)}];")
    for node in lab.nodes.values():
        style = NODE_STYLES["router"] if node.router else NODE_STYLES.get(node.role, DEFAULT_NODE_STYLE)
        lines.append(f"  {_id('node', node.name)} [{style} label={_node_label(lab, node)}];")
    for node in lab.nodes.values():
        lines += _attachment_edges(node)
    for link in lab.links.values():
        b = _id("net", link.b) if link.b_is_network else _id("node", link.b)
        lines.append(f"  {_id('node', link.a)} -- {b} [{LINK_STYLE} label={_link_label(link)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def digest(source: str) -> str:
    """What a rendered diagram records of its DOT, to tell when it is stale
    without comparing output that differs between Graphviz versions."""
    return DIGEST_COMMENT + hashlib.sha256(source.encode()).hexdigest()


Dot = Callable[[list[str], str], bytes]  # dot's options and the DOT source -> the drawing


def render(lab: Lab, output: Path, dot: Dot) -> Path:
    """Draw the lab to ``output``, SVG or PNG by its suffix, with ``dot``."""
    fmt = FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise BadInput(f"{output}: the diagram must end in .svg or .png")
    source = dot_source(lab)
    options = [f"-T{fmt}", f"-Gcomment={digest(source)}"] + ([f"-Gdpi={PNG_DPI}"] if fmt == "png" else [])
    drawing = dot(options, source)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(drawing)
    return output


def diagrams_dir() -> Path:
    """Where exercise sheets find each lab's diagram."""
    return labs_dir() / "diagrams"


def write_all(dot: Dot) -> list[Path]:
    """Draw ``labs/diagrams/<lab>.svg`` for every lab and the README's PNGs."""
    written = []
    for path in sorted(labs_dir().glob("*.yaml")):
        lab = load_lab(path)
        written.append(render(lab, diagrams_dir() / f"{path.stem}.svg", dot))
        if path.stem in README_IMAGES:
            written.append(render(lab, labs_dir().parent / "docs" / "images" / f"{path.stem}.png", dot))
    return written


if __name__ == "__main__":
    from .dot import find_dot

    for written in write_all(find_dot(print)):
        print(written)
