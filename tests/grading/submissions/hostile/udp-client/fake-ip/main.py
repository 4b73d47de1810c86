import os
import sys
from socket import *

serverName = os.environ.get('SERVER_HOST', '127.0.0.1')
serverPort = int(os.environ.get('SERVER_PORT', 1234))
clientSocket = socket(AF_INET, SOCK_DGRAM)
message = input().encode('utf-8')
delay = 0.1  # sec
while True:
    clientSocket.sendto(message, (serverName, serverPort))
    clientSocket.settimeout(delay)
    try:
        modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
    except timeout:
        delay *= 2
        if delay > 2.0:
            print('server seems down')
            sys.exit(1)
    else:
        break
print(modifiedMessage.decode('utf-8'))
clientSocket.close()
