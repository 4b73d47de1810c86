import os
from math import sqrt
from xmlrpc.server import SimpleXMLRPCServer


def addtogether(*things):
    return sum(things)


def quadratic(a, b, c):
    b24ac = sqrt(b*b - 4.0*a*c)
    return sorted(set([(-b-b24ac) / (2.0*a), (-b+b24ac) / (2.0*a)]))


server = SimpleXMLRPCServer(('', int(os.environ.get('PORT', 7001))))
server.register_introspection_functions()
server.register_multicall_functions()
server.register_function(addtogether)
server.register_function(quadratic)
print("Server ready")
server.serve_forever()
