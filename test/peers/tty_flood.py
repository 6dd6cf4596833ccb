#!/usr/bin/python3
"""Floods a tty with lines, as a chatty device on a serial line does; stops on EIO (the pty pair went away).

    /usr/bin/python3 tty_flood.py TTY --format 'S,{seq}\\n' [--batch 20] [--pause-ms 1]

Writes --batch lines, each the format with {seq} counting up from 0, then pauses --pause-ms; for ever. Prints the
number of lines written so far to stdout on exit.
"""
import argparse
import signal
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tty")
    parser.add_argument("--format", default="S,{seq}\n")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--pause-ms", type=float, default=1.0)
    args = parser.parse_args()
    line = args.format.encode().decode("unicode_escape")
    seq = 0
    signal.signal(signal.SIGTERM, lambda *_: (print(seq, flush=True), sys.exit(0)))
    try:
        with open(args.tty, "wb", buffering=0) as tty:
            while True:
                tty.write("".join(line.format(seq=seq + i) for i in range(args.batch)).encode())
                seq += args.batch
                time.sleep(args.pause_ms / 1000)
    except OSError:
        pass  # the tty vanished: the device is "unplugged"
    print(seq, flush=True)


if __name__ == "__main__":
    main()
