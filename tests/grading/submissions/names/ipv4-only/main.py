# The slide "TCP Python Client": AF_INET whatever the name resolves to.
import os
import sys
from socket import *

serverName = os.environ.get('SERVER_HOST', 'localhost')
serverPort = int(os.environ.get('SERVER_PORT', 1234))
message = (input() + '\n').encode('utf-8')
clientSocket = socket(AF_INET, SOCK_STREAM)
try:
    clientSocket.connect((serverName, serverPort))
except OSError:
    print('server seems down')
    sys.exit(1)
clientSocket.sendall(message)
print(clientSocket.recv(2048).decode('utf-8'), end='')
clientSocket.close()
