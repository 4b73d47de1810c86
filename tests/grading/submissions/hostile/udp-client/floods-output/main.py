import sys

# a verbose debug mode: 256 MB on standard output, whoever reads it holds it
chunk = b'A' * (1 << 20)
for _ in range(256):
    sys.stdout.buffer.write(chunk)
sys.stdout.flush()
