import os
from socket import *
from threading import Thread

serverPort = int(os.environ.get('PORT', 1234))


def handle_client(clientSocket):
    with clientSocket:
        while True:
            received = clientSocket.recv(4096)
            if not received:
                break
            to_send = received.decode('utf-8', errors='replace').upper().encode('utf-8')
            clientSocket.sendall(to_send)


serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', serverPort))
serverSocket.listen()
print('server ready', flush=True)
while True:
    connectionSocket, address = serverSocket.accept()
    Thread(target=handle_client, args=(connectionSocket,), daemon=True).start()
