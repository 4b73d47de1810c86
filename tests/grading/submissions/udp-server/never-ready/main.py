import os
import time
from socket import *

# wait until the network is up before starting
while not os.path.exists('/tmp/network-up'):
    time.sleep(1)

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', serverPort))
print('server ready')
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    serverSocket.sendto(message.decode('utf-8').upper().encode('utf-8'), clientAddress)
