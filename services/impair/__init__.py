"""socklab's lossy-link daemon: the ``userspace`` backend of a link, built on NFQUEUE.

It runs in a helper container that shares the lab node's network namespace
and has NET_ADMIN and NET_RAW (the node itself never has them). Start it as
a module, with the services directory on the import path, so that its
modules import each other as ``impair.*`` exactly as the tests do::

    cd /opt/socklab/services && python3 -m impair.daemon --config '{"name": "wan", ...}'
    PYTHONPATH=/opt/socklab/services python3 -m impair.daemon     # config in $SOCKLAB_LINK

(a container made with working_dir=/opt/socklab/services or that PYTHONPATH
gets both for ``docker exec`` too). ctl.py imports nothing from the package,
so ``python3 /opt/socklab/services/impair/ctl.py show`` works as well as
``python3 -m impair.ctl show``.

Modules, one idea each: decide (what happens to a packet), packet (IP
parsing), nfqueue (the netlink client), rules (iptables), config, control
(the JSON-lines socket), daemon (the event loop), ctl (the client).
"""
