import os
from socket import *

# keep a big buffer of every message ever received
history = b' ' * (1024 * 1024 * 1024)

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', serverPort))
print('server ready')
while True:
    message, clientAddress = serverSocket.recvfrom(65535)
    serverSocket.sendto(message.decode('utf-8').upper().encode('utf-8'), clientAddress)
