import os
from socket import *

broadcastAddr = os.environ.get('SERVER_HOST', '255.255.255.255')
serverPort = int(os.environ.get('SERVER_PORT', 1234))
clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)
message = input('lowercase sentence:').encode('utf-8')
clientSocket.sendto(message, (broadcastAddr, serverPort))
while True:
    modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
    print(modifiedMessage.decode('utf-8'))
