# Slide "IPv4 Names", with a name of the lab for the slide's 'lip6.fr'.
import sys
from socket import *

print(gethostname())

print(getfqdn())

print(gethostbyname(sys.argv[1]))

print(gethostbyaddr(gethostbyname(sys.argv[1])))

print(gethostbyname(getfqdn()))
