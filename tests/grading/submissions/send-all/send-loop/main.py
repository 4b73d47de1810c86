# The slide's "TCP send Loop", as printed (but for its line break after +=).
import os
import sys
from socket import *

serverName = os.environ.get('SERVER_HOST', '127.0.0.1')
serverPort = int(os.environ.get('SERVER_PORT', 1236))
clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.settimeout(5)
try:
    clientSocket.connect((serverName, serverPort))
except OSError:
    print('server seems down')
    sys.exit(1)
message = (input('lowercase sentence:') + '\n').encode('utf-8')
bytes_sent = 0
while bytes_sent < len(message):
    message_remaining = message[bytes_sent:]
    bytes_sent += clientSocket.send(message_remaining)
modifiedMessage = clientSocket.recv(2048).decode('utf-8')
print(modifiedMessage)
clientSocket.close()
