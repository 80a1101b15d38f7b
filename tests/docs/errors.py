#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Every error message the runtime can give is in docs/troubleshooting.md.
Collects the format strings of coco_error_set/coco_error_wrap calls and
looks for the longest fixed piece of each (format directives split it) in
the document. Messages that are only directives ("%s: %s") wrap others and
are skipped.
  errors.py REPO"""
import glob, os, re, sys

repo = sys.argv[1]
doc = open(os.path.join(repo, "docs", "troubleshooting.md")).read().replace("\\", "")
CALL = re.compile(r'coco_error_(?:set|wrap)\(\s*err,\s*[^,]+,\s*((?:"(?:[^"\\]|\\.)*"\s*(?:[A-Z_]+\s*)?)+)')
DIRECTIVE = re.compile(r"%[-0-9.]*(?:zu|llu|lld|ll|u|d|s|x|c|zd)")
missing = []
total = 0
for path in sorted(glob.glob(os.path.join(repo, "*", "*.c")) + glob.glob(os.path.join(repo, "guestimg", "agent", "*.c"))):
    rel = os.path.relpath(path, repo)
    if rel.startswith(("tests/", "build/")):
        continue
    for m in CALL.finditer(open(path).read()):
        parts = re.findall(r'"((?:[^"\\]|\\.)*)"|([A-Z_]+)', m.group(1))
        text = "".join(lit if lit else "%s" for lit, macro in parts).replace('\\"', '"')  # a macro varies
        pieces = sorted((p.strip(" :;,()\"") for p in DIRECTIVE.split(text)), key=len, reverse=True)
        if not pieces or len(pieces[0]) < 10:
            continue
        total += 1
        if pieces[0] not in doc:
            missing.append("%s: %s" % (rel, text))
for m in missing:
    print("not in docs/troubleshooting.md: " + m)
print("error messages: %d documented, %d missing" % (total - len(missing), len(missing)))
sys.exit(1 if missing else 0)
