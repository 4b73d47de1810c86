import os
from select import *
from socket import *

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', serverPort))
serverSocket.listen(10)
print('server ready')

my_poll = poll()
my_poll.register(serverSocket, POLLIN)

while True:
    for fd, event in my_poll.poll():
        connectionSocket, address = serverSocket.accept()
        # serve this client until it is done
        while True:
            data = connectionSocket.recv(4096)
            if not data:
                break
            connectionSocket.sendall(data.decode('utf-8', errors='replace').upper().encode('utf-8'))
        connectionSocket.close()
