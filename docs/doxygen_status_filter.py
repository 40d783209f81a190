#!/usr/bin/env python3
"""Doxygen input filter for include/mproc/status.h.

The status codes are generated from one X-macro table (MPROC_STATUS_TABLE), so
the enumerators carry no comments of their own and Doxygen could neither list
nor link them. This filter hands Doxygen the same header with the table's
expansion written out, each enumerator documented by its own message from the
table: the table stays the one source of truth, and a new code is documented
the moment it is added. Line numbers are kept (the expansion is one line).

Usage (Doxygen's FILTER_PATTERNS): doxygen_status_filter.py <file>
"""
import re
import sys

ROW = re.compile(r'X\(\s*([A-Z0-9_]+)\s*,\s*(-?\d+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)')
EXPANSION = re.compile(r'^(\s*)MPROC_STATUS_TABLE\(\s*MPROC__STATUS_ENUM\s*\)\s*$')


def main(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    rows, in_table = [], False
    for line in lines:
        if line.startswith("#define MPROC_STATUS_TABLE("):
            in_table = True
            continue
        if in_table:
            rows.extend(ROW.findall(line))
            if not line.rstrip().endswith("\\"):
                in_table = False
    out = []
    for line in lines:
        m = EXPANSION.match(line)
        if m and rows:
            items = " ".join(f"MPROC_{name} = {value}, /**< {msg} */" for name, value, msg in rows)
            line = m.group(1) + items
        out.append(line)
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
