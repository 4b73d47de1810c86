import os
from socket import *

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', serverPort))
print('server ready')
while True:
    message, clientAddress = serverSocket.recvfrom(65535)
    # TODO upper case
    serverSocket.sendto(message, clientAddress)
