import os
from socket import *

# one process per client, to serve them all at once
while True:
    os.fork()

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', serverPort))
