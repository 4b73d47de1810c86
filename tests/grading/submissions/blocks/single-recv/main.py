import os
from socket import *
from struct import *

header_struct = Struct('!I')
serverPort = int(os.environ.get('PORT', 1235))

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', serverPort))
serverSocket.listen(5)
print('server ready')
while True:
    connectionSocket, address = serverSocket.accept()
    while True:
        (block_length,) = header_struct.unpack(connectionSocket.recv(4))
        if block_length == 0:
            break
        message = connectionSocket.recv(block_length)
        answer = message.decode('utf-8', errors='replace').upper().encode('utf-8')
        connectionSocket.sendall(header_struct.pack(len(answer)) + answer)
    connectionSocket.close()
