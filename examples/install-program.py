#!/usr/bin/env python3
"""install-program.py SRC DST DIR: write the program file SRC to DST for
installation, each group's bare command name made the absolute path
DIR/NAME, where the example's nodes are installed. The file's layout is
kept; the result is checked to be JSON with only absolute commands."""
import json
import re
import sys


def main():
    src, dst, bindir = sys.argv[1:]
    with open(src, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r'("command"\s*:\s*\[\s*")([^"/]+)"',
                  lambda m: '%s%s/%s"' % (m.group(1), bindir, m.group(2)),
                  text)
    for group in json.loads(text)["nodes"]:
        # A replay node without a command runs lpd's own, installed.
        if "command" not in group and group["type"] == "replay":
            continue
        if not group["command"][0].startswith("/"):
            sys.exit("%s: group %s: command %r left relative"
                     % (src, group["group"], group["command"][0]))
    with open(dst, "w", encoding="utf-8") as f:
        f.write(text)


main()
