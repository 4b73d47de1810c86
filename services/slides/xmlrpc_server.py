# Slides "Python XML-RPC Server": it binds 127.0.0.1, so only a client in
# its own container can reach it, and quadratic divides by 2.0 then
# multiplies by a.
from operator import *
from math import *
from xmlrpc.server import *
from functools import *

def addtogether(*things):
    return reduce(add, things)

def quadratic(a,b,c):
    b24ac = sqrt(b*b - 4.0*a*c)
    return list((set([( -b-b24ac)/2.0*a, (-b+b24ac)/2.0*a ])))

server = SimpleXMLRPCServer(('127.0.0.1', 7001))
server.register_introspection_functions()
server.register_multicall_functions()
server.register_function(addtogether)
server.register_function(quadratic)
print("Server ready")
server.serve_forever()
