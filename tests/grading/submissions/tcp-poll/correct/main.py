import os
from select import *
from socket import *

serverPort = int(os.environ.get('PORT', 1234))
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', serverPort))
serverSocket.listen(10)
print('server ready')

my_poll = poll()
my_poll.register(serverSocket, POLLIN)
sockets = {serverSocket.fileno(): serverSocket}
to_send = {}  # upper-cased bytes not yet sent, by fileno


def forget(fd):
    my_poll.unregister(fd)
    sockets.pop(fd).close()
    to_send.pop(fd, None)


while True:
    for fd, event in my_poll.poll():
        if sockets[fd] is serverSocket:
            connectionSocket, address = serverSocket.accept()
            sockets[connectionSocket.fileno()] = connectionSocket
            my_poll.register(connectionSocket, POLLIN)
            continue
        if event & POLLOUT:
            n = sockets[fd].send(to_send[fd])
            to_send[fd] = to_send[fd][n:]
            if not to_send[fd]:
                my_poll.modify(fd, POLLIN)
        if event & (POLLIN | POLLHUP | POLLERR):
            try:
                data = sockets[fd].recv(4096)
            except ConnectionError:
                data = b''
            if not data:
                forget(fd)
                continue
            to_send[fd] = to_send.get(fd, b'') + data.decode('utf-8', errors='replace').upper().encode('utf-8')
            my_poll.modify(fd, POLLIN | POLLOUT)
