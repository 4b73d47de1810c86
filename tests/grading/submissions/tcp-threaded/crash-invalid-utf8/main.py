import os
from socket import *
from threading import Thread

serverPort = int(os.environ.get('PORT', 1234))


def handle_client(clientSocket):
    while True:
        received = clientSocket.recv(4096)
        if not received:
            clientSocket.close()
            break
        to_send = received.decode('utf-8').upper().encode('utf-8')
        clientSocket.sendall(to_send)


serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', serverPort))
serverSocket.listen(5)
print('server ready')
while True:
    connectionSocket, address = serverSocket.accept()
    Thread(target=handle_client, args=(connectionSocket,)).start()
