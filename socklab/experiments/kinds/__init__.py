"""The experiment kinds, one module each; importing this package registers
them all: this is the one place a new kind is added."""

from ..core import KINDS
from . import server_models, tcp_under_loss, udp_backoff

__all__ = ["KINDS", "server_models", "tcp_under_loss", "udp_backoff"]
