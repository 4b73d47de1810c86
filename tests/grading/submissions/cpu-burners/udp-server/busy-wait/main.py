import os
from socket import *

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', serverPort))
serverSocket.setblocking(False)  # so that the server never hangs...
print('server ready')
while True:
    try:
        message, clientAddress = serverSocket.recvfrom(65535)
    except BlockingIOError:
        continue  # ...it asks again, and again, and again
    modifiedMessage = message.decode('utf-8', errors='replace').upper()
    serverSocket.sendto(modifiedMessage.encode('utf-8'), clientAddress)
