# Slide "Byte Order over the Network".
from struct import *

print(hex(1234))

print(pack('<i', 1234))
print(pack('>i', 1234))
print(pack('!i', 1234))

print(unpack('>i', b'\x00\x00\x04\xd2'))

print(unpack('!i', b'\x00\x00\x04\xd2'))
