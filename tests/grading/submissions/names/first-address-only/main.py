# getaddrinfo, but only its first answer is tried.
import os
import sys
from socket import *

serverName = os.environ.get('SERVER_HOST', 'localhost')
serverPort = int(os.environ.get('SERVER_PORT', 1234))
message = (input() + '\n').encode('utf-8')
try:
    info = getaddrinfo(serverName, serverPort, type=SOCK_STREAM)[0]
    clientSocket = socket(*info[0:3])
    clientSocket.connect(info[4])
except OSError:
    print('server seems down')
    sys.exit(1)
clientSocket.sendall(message)
print(clientSocket.recv(2048).decode('utf-8'), end='')
clientSocket.close()
