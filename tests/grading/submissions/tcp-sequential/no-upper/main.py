import os
from socket import *

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', serverPort))
serverSocket.listen(1)
print('server ready')

while True:
    connectionSocket, address = serverSocket.accept()
    while True:
        received = connectionSocket.recv(4096)
        if not received:
            break
        connectionSocket.sendall(received)
    connectionSocket.close()
