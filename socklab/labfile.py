"""Reading lab files: YAML in, a validated :class:`~socklab.model.Lab` out.

The YAML is walked as a node graph (``yaml.compose``) rather than loaded into
plain dicts, so that every error can name the file and line it comes from,
and duplicated keys, which PyYAML would silently overwrite, are caught.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar, Union

import yaml

from .catalog import NODE_IMAGE, SERVICES
from .errors import BadInput, LabFileError, UnknownKey
from .impairment import IMPAIRMENT_KEYS, impairment_changes
from .model import LINK_BACKENDS, Attachment, Impairment, Lab, Link, Network, Node, Ready, Route

NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
T = TypeVar("T")
D = TypeVar("D")
Fields = dict[str, tuple[yaml.Node, yaml.Node]]
"""A YAML mapping's entries by key: (key node, value node), for located errors."""

LAB_KEYS = {"name", "description", "sheet", "networks", "nodes", "links"}
NETWORK_KEYS = {"subnet", "subnet6", "internal"}
NODE_KEYS = {
    "service",
    "image",
    "command",
    "environment",
    "networks",
    "ready",
    "role",
    "router",
    "routes",
    "workspace",
    "ports",
}
READY_KEYS = {"log", "tcp", "udp", "command", "none", "timeout", "send"}
LINK_KEYS = {"between", "backend", "seed", "forward", "reverse", *IMPAIRMENT_KEYS}


def labs_dir() -> Path:
    """The folder shipped labs live in (``$SOCKLAB_LABS`` overrides it)."""
    return Path(os.environ.get("SOCKLAB_LABS", Path(__file__).resolve().parent.parent / "labs"))


def find_lab(name_or_path: str, suffix: str = ".yaml") -> Path:
    """Resolve a lab (or assignment, experiment) given by name or by path."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if candidate.is_file():
            return candidate
        raise BadInput(f"{name_or_path}: no such file")
    for folder in (labs_dir(), labs_dir() / "assignments", labs_dir() / "experiments"):
        path = folder / f"{name_or_path}{suffix}"
        if path.is_file():
            return path
    known = ", ".join(sorted(p.stem for p in labs_dir().glob("*.yaml")))
    raise BadInput(f"unknown lab {name_or_path!r} (no {labs_dir() / (name_or_path + suffix)}; known: {known})")


def load_lab(name_or_path: str | Path) -> Lab:
    path = find_lab(str(name_or_path))
    return parse_lab(read_text(path), path)


def read_text(path: Path) -> str:
    """A lab, assignment or experiment file's text; bytes that are not UTF-8 are
    reported at their line."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise LabFileError(path, None, f"cannot read: {err.strerror or err}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise LabFileError(path, line, f"not UTF-8 text: byte 0x{data[err.start]:02x} ({err.reason})") from None


def compose_yaml(text: str, path: Path) -> yaml.Node:
    """Compose YAML text into nodes, turning syntax errors into LabFileError."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise LabFileError(path, line, f"invalid YAML: {err.problem or err.context}") from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow, such as NUL
        line = text.count("\n", 0, err.position) + 1
        code = err.character if isinstance(err.character, int) else ord(err.character)
        raise LabFileError(path, line, f"invalid YAML: character U+{code:04X} is not allowed in a YAML file") from None
    if root is None:
        raise LabFileError(path, 1, "the file is empty")
    return root


class Reader:
    """Typed access to YAML nodes, raising errors located at the node."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node, problem: str) -> LabFileError:
        return LabFileError(self.path, node.start_mark.line + 1, problem)

    def mapping(self, node: yaml.Node, what: str, allowed: set[str] | None = None) -> Fields:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        result: Fields = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, f"a key of {what}")
            if key in result:
                raise self.fail(key_node, f"duplicated name {key!r} in {what}")
            if allowed is not None and key not in allowed:
                raise self.fail(key_node, f"unknown key {key!r} in {what} (allowed: {', '.join(sorted(allowed))})")
            result[key] = (key_node, value_node)
        return result

    def optional(
        self, fields: Fields, key: str, read: Callable[[yaml.Node, str], T], what: str, default: D
    ) -> Union[T, D]:
        """``read(value, what)`` for a key that may be left out, ``default`` when it is."""
        return read(fields[key][1], what) if key in fields else default

    def scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be a single value")
        return str(node.value)

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def boolean(self, node: yaml.Node, what: str) -> bool:
        value = self.scalar(node, what).lower()
        if value in ("true", "yes", "on"):
            return True
        if value in ("false", "no", "off"):
            return False
        raise self.fail(node, f"{what} must be true or false, not {value!r}")

    def integer(self, node: yaml.Node, what: str) -> int:
        value = self.scalar(node, what)
        try:
            return int(value)
        except ValueError:
            raise self.fail(node, f"{what} must be a whole number, not {value!r}") from None

    def convert(self, node: yaml.Node, what: str, parse: Callable[[str], T]) -> T:
        value = self.scalar(node, what)
        try:
            return parse(value)
        except ValueError as err:
            raise self.fail(node, f"{what}: {err}") from None

    def name(self, node: yaml.Node, what: str) -> str:
        value = self.scalar(node, what)
        if not NAME.match(value):
            raise self.fail(
                node,
                f"{what} {value!r} must be lower-case letters, digits and '-', "
                "starting with a letter, at most 31 characters",
            )
        return value

    def command(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        if isinstance(node, yaml.SequenceNode):
            return tuple(self.scalar(item, f"an item of {what}") for item in node.value)
        try:
            return tuple(shlex.split(self.scalar(node, what)))
        except ValueError as err:
            raise self.fail(node, f"{what}: {err}") from None

    def plain(self, node: yaml.Node, what: str) -> object:
        """A nested value as plain Python data (for impairment mappings)."""
        if isinstance(node, yaml.MappingNode):
            return {k: self.plain(v, what) for k, (_, v) in self.mapping(node, what).items()}
        return self.scalar(node, what)


def parse_lab(text: str, path: Path) -> Lab:
    reader = Reader(path)
    root = compose_yaml(text, path)
    top = reader.mapping(root, "the lab", LAB_KEYS)
    for required in ("networks", "nodes"):
        if required not in top:
            raise reader.fail(root, f"the lab has no {required!r} section")
    name = reader.optional(top, "name", reader.name, "the lab's name", path.stem)
    if not NAME.match(name):
        raise reader.fail(
            root, f"the lab's name {name!r} (from the file name) must be lower-case letters, digits and '-'"
        )
    networks = _networks(reader, top["networks"][1])
    nodes = _nodes(reader, top["nodes"][1], networks)
    links = reader.optional(top, "links", lambda value, _: _links(reader, value, networks, nodes), "links", {})
    return Lab(
        name=name,
        path=path,
        networks=networks,
        nodes=nodes,
        links=links,
        description=reader.optional(top, "description", reader.scalar, "description", ""),
        sheet=reader.optional(top, "sheet", reader.scalar, "sheet", None),
    )


def _networks(reader: Reader, node: yaml.Node) -> dict[str, Network]:
    result = {}
    for name, (key_node, value) in reader.mapping(node, "networks").items():
        reader.name(key_node, "network name")
        fields = reader.mapping(value, f"network {name!r}", NETWORK_KEYS) if not _is_null(value) else {}
        subnet = reader.optional(fields, "subnet", _converter(reader, _ipv4_network), f"network {name!r} subnet", None)
        subnet6 = reader.optional(
            fields, "subnet6", _converter(reader, _ipv6_network), f"network {name!r} subnet6", None
        )
        internal = reader.optional(fields, "internal", reader.boolean, "internal", True)
        result[name] = Network(name, subnet, subnet6, internal)
    if not result:
        raise reader.fail(node, "a lab needs at least one network")
    _check_overlaps(reader, node, result)
    return result


def _check_overlaps(reader: Reader, node: yaml.Node, networks: dict[str, Network]) -> None:
    seen: list[tuple[str, ipaddress._BaseNetwork]] = []
    for net in networks.values():
        for subnet in (net.subnet, net.subnet6):
            if subnet is None:
                continue
            for other_name, other in seen:
                if subnet.version == other.version and subnet.overlaps(other):
                    raise reader.fail(
                        node, f"networks {other_name!r} and {net.name!r} have overlapping subnets {other} and {subnet}"
                    )
            seen.append((net.name, subnet))


def _nodes(reader: Reader, node: yaml.Node, networks: dict[str, Network]) -> dict[str, Node]:
    result: dict[str, Node] = {}
    taken: dict[ipaddress._BaseAddress, str] = {}
    for name, (key_node, value) in reader.mapping(node, "nodes").items():
        reader.name(key_node, "node name")
        if name in networks:
            raise reader.fail(key_node, f"node {name!r} has the name of a network; names must be unique")
        result[name] = _node(reader, name, key_node, value, networks, taken)
    if not result:
        raise reader.fail(node, "a lab needs at least one node")
    return result


def _node(
    reader: Reader, name: str, key_node: yaml.Node, value: yaml.Node, networks: dict[str, Network], taken: dict
) -> Node:
    what = f"node {name!r}"
    fields = reader.mapping(value, what, NODE_KEYS)
    service = None
    if "service" in fields:
        service = reader.scalar(fields["service"][1], f"{what} service")
        if service not in SERVICES:
            raise reader.fail(
                fields["service"][1], f"{what}: unknown service {service!r} (known: {', '.join(sorted(SERVICES))})"
            )
    elif "image" not in fields:
        raise reader.fail(key_node, f"{what} needs a 'service' or an 'image'")
    spec = SERVICES[service or "client"]
    image = reader.optional(fields, "image", reader.scalar, f"{what} image", NODE_IMAGE)
    command = reader.optional(fields, "command", reader.command, f"{what} command", spec.command)
    ready = reader.optional(
        fields,
        "ready",
        lambda value, _: _ready(reader, value, what),
        f"{what} ready",
        spec.ready if service else Ready("none"),
    )
    environment = {}
    if "environment" in fields:
        for key, (_, env_value) in reader.mapping(fields["environment"][1], f"{what} environment").items():
            environment[key] = reader.scalar(env_value, f"{what} environment {key}")
    if "networks" not in fields:
        raise reader.fail(key_node, f"{what} is on no network (add 'networks:')")
    attachments = _attachments(reader, fields["networks"][1], what, networks, taken)
    routes = tuple(
        _route(reader, item, what, networks, attachments)
        for item in reader.optional(fields, "routes", reader.sequence, f"{what} routes", [])
    )
    return Node(
        name=name,
        image=image,
        command=command,
        networks=attachments,
        environment=environment,
        ready=ready,
        role=reader.optional(fields, "role", reader.scalar, f"{what} role", spec.role),
        service=service,
        router=reader.optional(fields, "router", reader.boolean, f"{what} router", service == "router"),
        routes=routes,
        workspace=reader.optional(fields, "workspace", reader.boolean, f"{what} workspace", False),
        ports=tuple(
            _port(reader, item, what) for item in reader.optional(fields, "ports", reader.sequence, f"{what} ports", [])
        ),
    )


def _attachments(
    reader: Reader, node: yaml.Node, what: str, networks: dict[str, Network], taken: dict
) -> tuple[Attachment, ...]:
    items: list[tuple[yaml.Node, Optional[yaml.Node]]]
    if isinstance(node, yaml.SequenceNode):
        items = [(item, None) for item in node.value]
    else:
        items = [(key, value) for key, value in reader.mapping(node, f"{what} networks").values()]
    result = []
    seen = set()
    for key_node, value in items:
        net_name = reader.scalar(key_node, f"a network of {what}")
        if net_name not in networks:
            raise reader.fail(
                key_node, f"{what} is on network {net_name!r}, which is not declared (declared: {', '.join(networks)})"
            )
        if net_name in seen:
            raise reader.fail(key_node, f"{what} lists network {net_name!r} twice")
        seen.add(net_name)
        net = networks[net_name]
        address = address6 = None
        if value is not None and not _is_null(value):
            fields = reader.mapping(value, f"{what} on {net_name!r}", {"address", "address6"})
            if "address" in fields:
                address = _address_in(
                    reader, fields["address"][1], what, net_name, net.subnet, ipaddress.IPv4Address, taken
                )
            if "address6" in fields:
                address6 = _address_in(
                    reader, fields["address6"][1], what, net_name, net.subnet6, ipaddress.IPv6Address, taken
                )
        result.append(Attachment(net_name, address, address6))
    if not result:
        raise reader.fail(node, f"{what} is on no network")
    return tuple(result)


def _address_in(reader: Reader, node: yaml.Node, what: str, net_name: str, subnet, kind, taken: dict):
    address = reader.convert(node, f"{what} address", kind)
    if subnet is None:
        raise reader.fail(node, f"{what} has a fixed address on {net_name!r}, which declares no subnet for it")
    if address not in subnet:
        raise reader.fail(node, f"{what} address {address} is outside {net_name!r}'s subnet {subnet}")
    if (
        address in (subnet.network_address, subnet.broadcast_address, next(subnet.hosts()))
        and kind is ipaddress.IPv4Address
    ):
        raise reader.fail(node, f"{what} address {address} is reserved in {subnet} (network, broadcast or gateway)")
    if address in taken:
        raise reader.fail(node, f"{what} address {address} is already taken by node {taken[address]!r}")
    taken[address] = what.split("'")[1]
    return address


def _route(
    reader: Reader, node: yaml.Node, what: str, networks: dict[str, Network], attachments: tuple[Attachment, ...]
) -> Route:
    fields = reader.mapping(node, f"a route of {what}", {"to", "via"})
    for required in ("to", "via"):
        if required not in fields:
            raise reader.fail(node, f"a route of {what} needs {required!r}")
    to = reader.convert(fields["to"][1], f"{what} route 'to'", lambda v: ipaddress.ip_network(v, strict=True))
    via = reader.convert(fields["via"][1], f"{what} route 'via'", ipaddress.ip_address)
    reachable = [networks[a.network] for a in attachments]
    subnets = [n.subnet if via.version == 4 else n.subnet6 for n in reachable]
    known = [s for s in subnets if s is not None]
    if len(known) == len(subnets) and not any(via in s for s in known):
        raise reader.fail(fields["via"][1], f"{what} route via {via} is not on any of its networks")
    return Route(to, via)


def _ready(reader: Reader, node: yaml.Node, what: str) -> Ready:
    fields = reader.mapping(node, f"{what} ready", READY_KEYS)
    strategies = [k for k in fields if k not in ("timeout", "send")]
    if len(strategies) != 1:
        raise reader.fail(node, f"{what} ready needs exactly one of log, tcp, udp, command, none")
    strategy = strategies[0]
    value = fields[strategy][1]
    timeout = reader.optional(fields, "timeout", _converter(reader, float), f"{what} ready timeout", 15.0)
    send = reader.optional(fields, "send", reader.scalar, f"{what} ready send", "ping")
    if strategy == "log":
        return Ready("log", log=reader.scalar(value, f"{what} ready log"), timeout=timeout)
    if strategy in ("tcp", "udp"):
        return Ready(strategy, port=reader.integer(value, f"{what} ready {strategy}"), send=send, timeout=timeout)
    if strategy == "command":
        return Ready("command", command=reader.command(value, f"{what} ready command"), timeout=timeout)
    return Ready("none")


def _port(reader: Reader, node: yaml.Node, what: str) -> str:
    value = reader.scalar(node, f"{what} port")
    if not re.match(r"^(\d+:)?\d+(/(tcp|udp))?$", value):
        raise reader.fail(node, f"{what} port {value!r} must look like 8080:7001 or 1234/udp")
    return value


def _links(reader: Reader, node: yaml.Node, networks: dict[str, Network], nodes: dict[str, Node]) -> dict[str, Link]:
    result = {}
    for name, (key_node, value) in reader.mapping(node, "links").items():
        reader.name(key_node, "link name")
        result[name] = _link(reader, name, key_node, value, networks, nodes)
    return result


def _link(
    reader: Reader,
    name: str,
    key_node: yaml.Node,
    value: yaml.Node,
    networks: dict[str, Network],
    nodes: dict[str, Node],
) -> Link:
    what = f"link {name!r}"
    fields = reader.mapping(value, what, LINK_KEYS)
    if "between" not in fields:
        raise reader.fail(key_node, f"{what} needs 'between: [NODE, NODE or NETWORK]'")
    ends = [reader.scalar(item, f"{what} between") for item in reader.sequence(fields["between"][1], f"{what} between")]
    if len(ends) != 2:
        raise reader.fail(fields["between"][1], f"{what} joins exactly two ends, not {len(ends)}")
    a, b = ends
    if a not in nodes:
        raise reader.fail(fields["between"][1], f"{what}: {a!r} is not a node of this lab")
    a_nets = {att.network for att in nodes[a].networks}
    if b in nodes:
        if not a_nets & {att.network for att in nodes[b].networks}:
            raise reader.fail(fields["between"][1], f"{what}: nodes {a!r} and {b!r} share no network")
    elif b in networks:
        if b not in a_nets:
            raise reader.fail(fields["between"][1], f"{what}: node {a!r} is not on network {b!r}")
    else:
        raise reader.fail(fields["between"][1], f"{what}: {b!r} is neither a node nor a network of this lab")
    backend = reader.optional(fields, "backend", reader.scalar, f"{what} backend", "auto")
    if backend not in LINK_BACKENDS:
        raise reader.fail(fields["backend"][1], f"{what} backend {backend!r} is not one of {', '.join(LINK_BACKENDS)}")
    both = _impairment(reader, fields, Impairment(), what)

    def direction(value: yaml.Node, what: str) -> Impairment:
        return _impairment(reader, reader.mapping(value, what, set(IMPAIRMENT_KEYS)), both, what)

    forward = reader.optional(fields, "forward", direction, f"{what} forward", both)
    reverse = reader.optional(fields, "reverse", direction, f"{what} reverse", both)
    seed = reader.optional(fields, "seed", reader.integer, f"{what} seed", None)
    if seed is not None and not 0 <= seed < 2**64:
        raise reader.fail(fields["seed"][1], f"{what} seed must be a whole number in 0..2**64-1, not {seed}")
    if seed is not None and backend == "netem":
        raise reader.fail(
            fields["backend"][1],
            f"{what}: backend netem cannot replay a seed (netem's own seed covers "
            "loss and corruption only, from one stream all flows share): use backend auto or userspace, "
            "or drop the seed",
        )
    return Link(name, a, b, b in networks, forward, reverse, backend, seed, key_node.start_mark.line + 1)


def _impairment(reader: Reader, fields: Fields, base: Impairment, what: str) -> Impairment:
    """``base`` with the mapping's impairment keys applied together, each value checked at its own line."""
    changes: dict[str, Any] = {}
    for key in IMPAIRMENT_KEYS:
        if key not in fields:
            continue
        value_node = fields[key][1]
        try:
            changes.update(impairment_changes({key: reader.plain(value_node, f"{what} {key}")}))
        except UnknownKey as err:
            raise reader.fail(value_node, f"{what} {key}: {err}") from None
        except ValueError as err:
            raise reader.fail(value_node, f"{what} {key}: {err}") from None
    try:
        return base.updated(changes)
    except ValueError as err:
        first = next(fields[key][0] for key in IMPAIRMENT_KEYS if key in fields)
        raise reader.fail(first, f"{what}: {err}") from None


def _converter(reader: Reader, parse: Callable[[str], T]) -> Callable[[yaml.Node, str], T]:
    """A reader for :meth:`Reader.optional` that parses the scalar with ``parse``."""
    return lambda node, what: reader.convert(node, what, parse)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _ipv4_network(value: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(value, strict=True)


def _ipv6_network(value: str) -> ipaddress.IPv6Network:
    return ipaddress.IPv6Network(value, strict=True)
