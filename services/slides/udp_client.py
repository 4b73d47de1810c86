# Slide "UDP Python Client" (after "Strings and Bytes").
import sys
from socket import *
serverName = sys.argv[1]  # the slide's 'A.B.C.D'
serverPort = 1234
clientSocket = socket(AF_INET, SOCK_DGRAM)
message = input('lowercase sentence:').encode('utf-8')
clientSocket.sendto(message, (serverName, serverPort))
modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
print(modifiedMessage.decode('utf-8'))
clientSocket.close()
