# Slide "TCP Python Client".
import sys
from socket import *

serverName = sys.argv[1]  # the slide's 'A.B.C.D'
serverPort = 1234

clientSocket = socket(AF_INET,SOCK_STREAM)
clientSocket.connect((serverName,serverPort))

message = input('lowercase sentence:').encode('utf-8')
clientSocket.send(message)

modifiedMessage = clientSocket.recv(2048).decode('utf-8')
print(modifiedMessage)

clientSocket.close()
