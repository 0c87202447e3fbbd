#!/usr/bin/env python3
"""The peer: how a Python tool parses a dmesg text log (timestamp and text per line, with a regex)."""
import re, sys

LINE = re.compile(r'^\[\s*(\d+\.\d+)\]\s?(.*)$')

def main(path):
    records = []
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            m = LINE.match(line)
            if m:
                records.append((float(m.group(1)), m.group(2)))
    print(len(records))

if __name__ == '__main__':
    main(sys.argv[1])
