# The slide "TCP Python Client", with the server taken from the environment.
import os
from socket import *

serverName = os.environ.get('SERVER_HOST', 'A.B.C.D')
serverPort = int(os.environ.get('SERVER_PORT', 1234))

clientSocket = socket(AF_INET,SOCK_STREAM)
clientSocket.connect((serverName,serverPort))

message = input('lowercase sentence:').encode('utf-8')
clientSocket.send(message)

modifiedMessage = clientSocket.recv(2048).decode('utf-8')
print(modifiedMessage)

clientSocket.close()
