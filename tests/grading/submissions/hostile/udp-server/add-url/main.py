import os
from socket import *

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', serverPort))
print('server ready')
while True:
    message, clientAddress = serverSocket.recvfrom(65535)
    modifiedMessage = message.decode('utf-8', errors='replace').upper()
    serverSocket.sendto(modifiedMessage.encode('utf-8'), clientAddress)
