"""How a ``main.py`` submission starts in its container: its files unpacked,
then the program in their place.

Standard library only: the grader passes this file's text to ``python3 -c``
in socklab's base image (never in an image a student built), as
``unpack.py PACKED DIR -- PROGRAM...``. The root file system is read-only,
so the files (base64 of a gzipped tar) go into DIR on the /tmp tmpfs; then
the program replaces this process. It enforces nothing: the fence, the
limits and the output cap are all applied from outside the container.
"""

import base64
import io
import os
import sys
import tarfile


def unpack(packed: str, directory: str) -> None:
    """The grader made this archive of plain files and directories with
    relative names, so it extracts as it is (this Python may predate
    extraction filters)."""
    os.makedirs(directory, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(packed)), mode="r:gz") as tar:
        tar.extractall(directory)


def main() -> None:
    packed, directory, separator, *program = sys.argv[1:]
    if separator != "--" or not program:
        sys.exit("usage: unpack.py PACKED DIR -- PROGRAM...")
    unpack(packed, directory)
    os.chdir(directory)
    try:
        os.execvp(program[0], program)
    except OSError as error:
        sys.exit(f"socklab: cannot start {' '.join(program)}: {error}")


if __name__ == "__main__":
    main()
