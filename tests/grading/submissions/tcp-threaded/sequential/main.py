import os
from socket import *

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', serverPort))
serverSocket.listen(5)
print('server ready')


def handle_client(clientSocket):
    while True:
        received = clientSocket.recv(4096)
        if not received:
            clientSocket.close()
            return
        to_send = received.decode('utf-8', errors='replace').upper().encode('utf-8')
        clientSocket.sendall(to_send)


while True:
    connectionSocket, address = serverSocket.accept()
    handle_client(connectionSocket)
