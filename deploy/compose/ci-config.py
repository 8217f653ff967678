#!/usr/bin/env python3
"""make compose-e2e: `docker-compose config` of deploy/docker-compose.yml with deploy/compose/ci.yml
over it (stdin) → the file CI runs (stdout). Host networking cannot publish ports, and Debian's
docker-compose 1.29 has no way for an override to drop the base file's `ports` (compose v2's
`!reset`), so they are dropped here; nothing else changes."""
import sys

import yaml

config = yaml.safe_load(sys.stdin)
for name, service in config["services"].items():
    if service.get("network_mode") == "host":
        service.pop("ports", None)
yaml.safe_dump(config, sys.stdout, sort_keys=False, width=120)
