import os
from socket import *

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', serverPort))
print('server ready')
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    try:
        modifiedMessage = message.decode('utf-8').upper()
    except UnicodeDecodeError:
        modifiedMessage = 'invalid message'
    serverSocket.sendto(modifiedMessage.encode('utf-8'), clientAddress)
