import os
import sys
from socket import *

serverName = os.environ.get('SERVER_HOST', '127.0.0.1')
serverPort = int(os.environ.get('SERVER_PORT', 1234))
clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.settimeout(0.1)
message = input().encode('utf-8')
for attempt in range(5):
    clientSocket.sendto(message, (serverName, serverPort))
    try:
        modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
        print(modifiedMessage.decode('utf-8'))
        break
    except timeout:
        pass
else:
    print('server seems down')
    sys.exit(1)
