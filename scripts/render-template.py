#!/usr/bin/env python3
"""Print a template with ${NAME} replaced by environment variables; nginx's own $variables
(no braces) are left alone. A ${NAME} without a value is an error, so no half-rendered file."""
import os
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
missing = sorted({m for m in re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", text) if m not in os.environ})
if missing:
    sys.exit(f"render-template: unset: {', '.join(missing)}")
sys.stdout.write(re.sub(r"\$\{([A-Z][A-Z0-9_]*)\}", lambda m: os.environ[m.group(1)], text))
