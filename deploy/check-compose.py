#!/usr/bin/env python3
"""Static checks of deploy/docker-compose.yml (no Docker engine on the CI machines):
it parses; each built service names a workspace binary; every ${VAR} it reads is written by
deploy/compose/generate-env.sh; the gateway gets every placeholder of its route template; every
service of the route table has a container."""
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
compose_text = (ROOT / "deploy/docker-compose.yml").read_text()
compose = yaml.safe_load(compose_text)
services = compose["services"]
problems = []

bins = set()
for cargo in ROOT.glob("services/*/Cargo.toml"):
    bins.update(re.findall(r'\[\[bin\]\]\s*name\s*=\s*"([^"]+)"', cargo.read_text()))
for name, svc in services.items():
    arg = ((svc.get("build") or {}).get("args") or {}).get("SERVICE")
    if arg and arg not in bins:
        problems.append(f"{name}: SERVICE={arg} is not a workspace binary")

generated = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / "deploy/compose/generate-env.sh").read_text(), re.M))
for var in sorted(set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose_text)) - generated):
    problems.append(f"${{{var}}} is not written by deploy/compose/generate-env.sh")

template = (ROOT / "deploy/gateway/tessera.conf.template").read_text()
needed = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", template))
given = set(services["gateway"]["environment"])
for var in sorted(needed - given):
    problems.append(f"gateway: the template needs {var}")
for var in sorted(needed):
    if f"${{{var}}}" not in (ROOT / "deploy/gateway/Dockerfile").read_text():
        problems.append(f"gateway Dockerfile: envsubst does not substitute {var}")
for addr in sorted(v for v in needed if v.endswith("_ADDR")):
    host = str(services["gateway"]["environment"].get(addr, "")).split(":")[0]
    if host not in services:
        problems.append(f"gateway: {addr} points at {host!r}, not a compose service")

if problems:
    sys.exit("deploy/docker-compose.yml:\n  " + "\n  ".join(problems))
print(f"docker-compose: {len(services)} services consistent")
