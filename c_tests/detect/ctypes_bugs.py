"""ctypes_bugs.py - heap bugs made from Python through ctypes (issue 14,
item 2): run with -X faulthandler, whose SIGSEGV/SIGBUS handlers are
installed after libpooldbg's.

Usage: python3 -X faulthandler ctypes_bugs.py MODE
  overflow  a 32-byte block from libc's malloc (ctypes.CDLL(None).malloc,
            called through libffi), one byte written past its end with
            ctypes.memmove: heap-buffer-overflow
  null      ctypes.string_at(0x14): a read through a null pointer, which
            faulthandler reports and gives back (SIG_DFL, raise)
Prints "ADDR 0x..." (the block, or 0x14) before the bug, and "NOT DETECTED"
if the program goes on after it.
"""
import ctypes
import sys


def main(mode):
    if mode == "overflow":
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.malloc.argtypes = [ctypes.c_size_t]
        p = libc.malloc(32)
        print("ADDR 0x%x" % p, flush=True)
        ctypes.memmove(p + 32, b"x", 1)
    elif mode == "null":
        print("ADDR 0x14", flush=True)
        ctypes.string_at(0x14, 1)
    else:
        sys.exit("unknown mode %s" % mode)
    print("NOT DETECTED", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
