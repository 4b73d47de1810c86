# Slide "UDP Packet Drops" (the second one), its "..." filled in with the
# slide "UDP Python Client": `except socket.timeout` under
# `from socket import *` names the class socket.socket, not the module.
import sys
from socket import *
serverName = sys.argv[1]  # the slide's 'A.B.C.D'
serverPort = 1234
clientSocket = socket(AF_INET, SOCK_DGRAM)
message = input('lowercase sentence:').encode('utf-8')
delay = 0.1 # sec
while True:
    clientSocket.sendto(message, (serverName, serverPort))
    clientSocket.settimeout(delay)
    try:
        modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
    except socket.timeout:
        delay *= 2
        if delay > 2.0:
            raise RuntimeError('server seems down')
    else:
        break
print(modifiedMessage.decode('utf-8'))
