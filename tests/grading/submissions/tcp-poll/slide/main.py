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

sockets = {serverSocket.fileno(): serverSocket}
# retrieve socket object from fileno
received = dict()
# bytes received from fileno, that are not yet processed
to_send = dict()
# bytes to be sent from fileno, that have been processed

while True:
    for fd, event in my_poll.poll():
        if event & (POLLHUP|POLLERR|POLLNVAL):
            received.pop(fd)
            to_send.pop(fd)
            my_poll.unregister(fd)
            del sockets[fd]
            sockets.pop(fd)
        elif sockets[fd] is serverSocket:
            connectionSocket, address = serverSocket.accept()
            sockets[connectionSocket.fileno()] = connectionSocket
            my_poll.register(connectionSocket, POLLIN)
        else:
            if event & POLLIN:
                data = sockets[fd].recv(4096)
                if not data:
                    sockets[fd].close()
                    continue
                if fd in received:
                    received[fd] += data
                else:
                    received[fd] = data
                my_poll.modify(fd, POLLIN|POLLOUT)
            if event & POLLOUT:
                data = received.pop(fd).decode('utf-8')
                data = data.upper().encode('utf-8')
                if fd in to_send:
                    data = to_send.pop(fd) + data
                n = sockets[fd].send(data)
                if n < len(data):
                    to_send[fd] = data[n:]
                else:
                    my_poll.modify(fd, POLLIN)
