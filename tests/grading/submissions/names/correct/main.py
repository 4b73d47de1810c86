import os
import sys
from socket import *

serverName = os.environ.get('SERVER_HOST', 'localhost')
serverPort = int(os.environ.get('SERVER_PORT', 1234))
message = (input() + '\n').encode('utf-8')
try:
    infolist = getaddrinfo(serverName, serverPort, type=SOCK_STREAM)
except gaierror:
    print('server seems down')
    sys.exit(1)
for info in infolist:
    clientSocket = socket(*info[0:3])
    clientSocket.settimeout(5)
    try:
        clientSocket.connect(info[4])
        break
    except OSError:
        clientSocket.close()
else:
    print('server seems down')
    sys.exit(1)
clientSocket.sendall(message)
answer = b''
while not answer.endswith(b'\n'):
    received = clientSocket.recv(2048)
    if not received:
        break
    answer += received
print(answer.decode('utf-8'), end='')
clientSocket.close()
