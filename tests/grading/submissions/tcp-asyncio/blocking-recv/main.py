# A coroutine that calls the socket's own recv(): it blocks the only
# thread, so the event loop serves one client at a time.
import asyncio
import os

serverPort = int(os.environ.get('PORT', 1234))


async def handle_client(reader, writer):
    clientSocket = writer.get_extra_info('socket')._sock
    clientSocket.setblocking(True)
    while True:
        received = clientSocket.recv(4096)
        if not received:
            break
        clientSocket.sendall(received.decode('utf-8', errors='replace').upper().encode('utf-8'))
    writer.close()


async def main():
    server = await asyncio.start_server(handle_client, '', serverPort)
    print('server ready')
    async with server:
        await server.serve_forever()


asyncio.run(main())
