#!/usr/bin/env python3
"""Reject assignments used as truth values in if/while conditions.

MSVC's /W4 warns (C4706) on `if (!(x = f()))`, `if (a && (x = f()))` and
`while (x = next())`; clang, which the MSVC-mode lane compiles with, has no
such warning. An assignment is accepted only where its value is compared at
once: `if ((x = f()) != NULL)`. Comments, strings and character literals are
ignored; so are assignments inside a function call's arguments and
assignments followed by a comma operator.

Usage: check-assign-in-condition.py DIR_OR_FILE...   (exit 1 on a finding)
"""
import pathlib
import re
import sys

COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
ASSIGN = re.compile(r"(?<![=!<>+\-*/%&|^])(?:[+\-*/%&|^]|<<|>>)?=(?!=)")
KEYWORD = re.compile(r"\b(if|while)\s*\(")


def blank_comments_and_literals(text):
    """The text with comments, strings and char literals replaced by spaces
    (newlines kept, so offsets and line numbers stay right)."""
    pattern = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.S)
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def closing_paren(text, open_at):
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def enclosing_group(text, start, pos):
    """Index of the '(' that most closely encloses pos, searching from start."""
    stack = []
    for i in range(start, pos):
        if text[i] == "(":
            stack.append(i)
        elif text[i] == ")" and stack:
            stack.pop()
    return stack[-1] if stack else -1


def is_call(text, open_at):
    before = text[:open_at].rstrip()
    return bool(re.search(r"[A-Za-z_0-9\]]$", before)) and not re.search(r"\b(if|while)$", before)


def comma_follows(text, pos, close_at):
    """A comma operator after the assignment in its group: its value is not the test."""
    depth = 0
    for i in range(pos, close_at):
        if text[i] in "([":
            depth += 1
        elif text[i] in ")]":
            depth -= 1
        elif text[i] == "," and depth == 0:
            return True
    return False


def compared_after(text, close_at):
    after = text[close_at + 1:].lstrip()
    return after.startswith(COMPARISONS) and not after.startswith(("<<", ">>"))


def findings(path):
    raw = path.read_text(encoding="utf-8", errors="replace")
    text = blank_comments_and_literals(raw)
    for m in KEYWORD.finditer(text):
        open_at = m.end() - 1
        close_at = closing_paren(text, open_at)
        if close_at < 0:
            continue
        for a in ASSIGN.finditer(text, open_at + 1, close_at):
            group = enclosing_group(text, open_at, a.start())
            if group < 0 or is_call(text, group):
                continue
            group_end = closing_paren(text, group)
            if comma_follows(text, a.end(), group_end):
                continue
            if group != open_at and compared_after(text, group_end):
                continue
            line = text.count("\n", 0, a.start()) + 1
            yield line, raw.splitlines()[line - 1].strip()


def main(args):
    files = []
    for arg in args:
        p = pathlib.Path(arg)
        files += sorted(p.rglob("*.[ch]")) if p.is_dir() else [p]
    bad = 0
    for f in files:
        for line, src in findings(f):
            print(f"{f}:{line}: assignment used as a condition (MSVC C4706): {src}")
            bad += 1
    if bad:
        print(f"check-assign-in-condition: {bad} finding(s); write `x = f(); if (!x)`")
        return 1
    print(f"check-assign-in-condition: {len(files)} files clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
