# Slide "UDP Python Client" (the first one): it sends a str, not bytes.
import sys
from socket import *

serverName = sys.argv[1]  # the slide's 'A.B.C.D'

serverPort = 1234

clientSocket = socket(AF_INET, SOCK_DGRAM)

message = input('lowercase sentence:')

clientSocket.sendto(message, (serverName, serverPort))

modifiedMessage, serverAddress = clientSocket.recvfrom(2048)

print(modifiedMessage)

clientSocket.close()
