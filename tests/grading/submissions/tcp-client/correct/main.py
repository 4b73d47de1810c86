import os
import sys
from socket import *

serverName = os.environ.get('SERVER_HOST', '127.0.0.1')
serverPort = int(os.environ.get('SERVER_PORT', 1234))
message = (input() + '\n').encode('utf-8')
try:
    clientSocket = create_connection((serverName, serverPort), timeout=5)
except OSError:
    print('server seems down')
    sys.exit(1)
clientSocket.sendall(message)
modifiedMessage = b''
while not modifiedMessage.endswith(b'\n'):
    received = clientSocket.recv(2048)
    if not received:
        break
    modifiedMessage += received
print(modifiedMessage.decode('utf-8'), end='')
clientSocket.close()
