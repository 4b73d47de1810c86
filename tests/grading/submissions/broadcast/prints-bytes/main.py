import os
import sys
from socket import *

broadcastAddr = os.environ.get('SERVER_HOST', '255.255.255.255')
serverPort = int(os.environ.get('SERVER_PORT', 1234))
clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)
clientSocket.settimeout(1)
message = input().encode('utf-8')
clientSocket.sendto(message, (broadcastAddr, serverPort))
answers = []
while True:
    try:
        modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
    except timeout:
        break
    answers.append(modifiedMessage)
for answer in answers:
    print(answer)
if not answers:
    print('server seems down')
    sys.exit(1)
