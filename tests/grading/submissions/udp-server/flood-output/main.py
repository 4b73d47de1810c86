import os
from socket import *

DEBUG = True

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', serverPort))
if DEBUG:
    for i in range(10_000_000):
        print('debug: waiting for a datagram, round', i)
while True:
    message, clientAddress = serverSocket.recvfrom(65535)
    serverSocket.sendto(message.decode('utf-8').upper().encode('utf-8'), clientAddress)
