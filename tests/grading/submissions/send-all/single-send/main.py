# One send(), as the slide "TCP Python Client" does: fine for a short line,
# but on a socket with a timeout it returns once the stack is full, having
# taken only part of a long one.
import os
import sys
from socket import *

serverName = os.environ.get('SERVER_HOST', '127.0.0.1')
serverPort = int(os.environ.get('SERVER_PORT', 1236))
clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.settimeout(2)
try:
    clientSocket.connect((serverName, serverPort))
except OSError:
    print('server seems down')
    sys.exit(1)
message = (input('lowercase sentence:') + '\n').encode('utf-8')
clientSocket.send(message)
try:
    modifiedMessage = clientSocket.recv(2048).decode('utf-8')
except timeout:
    print('no answer')
    sys.exit(1)
print(modifiedMessage)
clientSocket.close()
