# Slide "UDP Broadcast Client": it sends to serverName, which it never set.
from socket import *
broadcastAddr = 'W.X.Y.255' # assuming 255.255.255.0 netmask
serverPort = 1234
clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)
message = input('lowercase sentence:').encode('utf-8')
clientSocket.sendto(message, (serverName, serverPort))
modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
print(modifiedMessage.decode('utf-8'))
clientSocket.close()
