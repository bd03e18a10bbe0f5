"""Shared by bench/callgrind_*.sh: costs from the text of
`callgrind_annotate --inclusive=yes --tree=calling OUT` (read from stdin
by tree())."""
import re
import sys


class Tree:
    def __init__(self, text):
        self.t = text

    def calls(self, fn):
        """(inclusive cost of the calls to fn, how many), summed over one
        caller line: the first caller listed."""
        m = re.search(r"([\d,]+) \([^)]*\)\s+>\s+\S*:" + re.escape(fn) + r" \(([\d,]+)x\)",
                      self.t)
        return (int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))) if m \
            else (0, 0)

    def incl(self, fn):
        """fn's own inclusive cost (its line marked *)."""
        m = re.search(r"^\s*([\d,]+) \([^)]*\)\s+\*\s+\S*:" + re.escape(fn) + r" \[", self.t,
                      re.M)
        return int(m.group(1).replace(",", "")) if m else 0


def tree():
    return Tree(sys.stdin.read())
