#!/usr/bin/env python3
"""Keystroke echo round trips of a command run in a pseudo-terminal.

Usage: pty-echo.py KEYSTROKES READY_MARKER -- COMMAND [ARGS...]
Starts COMMAND in a new pty, waits until READY_MARKER appears in its output, then sends one
byte at a time and times until that byte is echoed back. Prints one round trip in ms a line.
Python's pty module is in every Debian python3, so the benchmark needs no native addon.
"""
import os, pty, select, sys, time

def read_until(fd, marker, timeout):
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SystemExit(f"timed out waiting for {marker!r}; saw {seen[-400:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise SystemExit(f"command ended before {marker!r}; saw {seen[-400:]!r}")
            seen += chunk
    return seen

def main():
    count, marker = int(sys.argv[1]), sys.argv[2].encode()
    command = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    read_until(fd, marker, 120)
    time.sleep(0.3)
    while select.select([fd], [], [], 0.1)[0]:
        os.read(fd, 65536)
    for i in range(count):
        key = b"abcdefghijklmnopqrstuvwxyz"[i % 26:i % 26 + 1]
        start = time.perf_counter()
        os.write(fd, key)
        read_until(fd, key, 10)
        print(f"{(time.perf_counter() - start) * 1000:.3f}", flush=True)
        time.sleep(0.02)
    os.write(fd, b"\x04")  # Ctrl-D: end cat, and with it the console
    time.sleep(0.5)
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass

main()
