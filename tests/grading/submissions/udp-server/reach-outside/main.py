import os
from socket import *

# find my IP address: "connect" a UDP socket to a public server
probe = socket(AF_INET, SOCK_DGRAM)
probe.connect(('8.8.8.8', 53))
myAddress = probe.getsockname()[0]
probe.close()

# and tell the world the server is up
hello = socket(AF_INET, SOCK_STREAM)
hello.settimeout(3)
hello.connect(('1.1.1.1', 53))

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind((myAddress, serverPort))
print('server ready on', myAddress)
while True:
    message, clientAddress = serverSocket.recvfrom(65535)
    serverSocket.sendto(message.decode('utf-8').upper().encode('utf-8'), clientAddress)
