# Slide "Python Data Compression" (its string on one line: the slide breaks it).
from zlib import *

str = b'A very long test string to evaluate compression and how much it improves bandwidth usage'

print(len(str))

data = compress(str)
print(data)
print(len(data))

d = decompressobj()
newdata = d.decompress(data)
print(newdata)
