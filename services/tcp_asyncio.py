#!/usr/bin/env python3
"""asyncio TCP upper-case server: the poll server's single thread and event
loop, written as one coroutine per client instead of dictionaries per fd."""

import asyncio
import os
from socket import SOCK_STREAM

from common import UpperCaser, log, peer, ready, server_socket

serverPort = int(os.environ.get("PORT", 1234))


async def handle_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Upper-case whatever the client sends, as soon as it arrives, until it
    closes. Errors end this connection only."""
    address = peer(writer.get_extra_info("peername"))
    log(f"connect {address}")
    upper = UpperCaser()
    try:
        while received := await reader.read(4096):
            writer.write(upper.feed(received))
            await writer.drain()  # wait while the client is not reading
        writer.write(upper.feed(b"", final=True))
        await writer.drain()
    except OSError as error:  # reset, broken pipe
        log(f"error {address} {error}")
    finally:
        writer.close()
    log(f"close {address}")


async def serve() -> None:
    serverSocket = server_socket(SOCK_STREAM, serverPort)
    server = await asyncio.start_server(handle_client, sock=serverSocket)
    ready(serverSocket)
    async with server:
        await server.serve_forever()


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
