import asyncio
import os

serverPort = int(os.environ.get('PORT', 1234))


async def handle_client(reader, writer):
    while True:
        received = await reader.read(4096)
        if not received:
            break
        writer.write(received.decode('utf-8', errors='replace').upper().encode('utf-8'))
        await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(handle_client, '', serverPort)
    print('server ready')
    async with server:
        await server.serve_forever()


asyncio.run(main())
