#!/usr/bin/env python3
"""make k8s-validate, after rendering: every Deployment of an overlay is started with the env
its manifests give it (ConfigMap + Secret through `envFrom`, its `args`, its init container's
`migrate`) and must become ready (`/readyz` 200) — so an overlay that cannot start (an invalid
`APP_ENV`, a missing variable) fails CI (issue #18).

With `--images` (make k8s-validate when a Docker engine runs and make compose-e2e has built the
images, as in CI), each container runs the image its manifest names — the local `tessera/<service>`
image of deploy/Dockerfile, tagged with the manifest's name — on the host's network, read-only,
as uid 10001, the signing-key Secret mounted where the manifest mounts it. Without it, the host's
binaries (`target/debug`) run in place of the containers. Either way only what points at the
cluster is replaced: `DATABASE_URL`/`AMQP_URL` name this machine's PostgreSQL
(a throw-away database per service) and RabbitMQ, `APP_HOST`/`APP_PORT` a free loopback port,
`JWT_SIGNING_KEYS_DIR` a temporary directory holding the overlay's signing-key Secret. An
overlay without Secrets of its own (prod: they come from the secret manager) takes the dev
overlay's values for the same keys; a key its Deployment needs that neither has fails.

usage: start-check.py OVERLAY.yaml DEV.yaml BIN_DIR [--images]
"""
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

PG = os.environ.get("PG_URL_BASE", "postgres://postgres@127.0.0.1:5432")
AMQP = os.environ.get("AMQP_URL_LOCAL", "amqp://guest:guest@127.0.0.1:5672/%2f")


def load(path):
    return [d for d in yaml.safe_load_all(open(path)) if d]


def find(docs, kind, name):
    return next((d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name), None)


def secret_data(doc):
    import base64
    data = dict(doc.get("stringData") or {})
    data.update({k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()})
    return data


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, seconds=40):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            return f"exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return None
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.3)
    return f"not ready within {seconds} s"


def main():
    overlay, dev, bin_dir = load(sys.argv[1]), load(sys.argv[2]), pathlib.Path(sys.argv[3])
    images = "--images" in sys.argv[4:]
    label = pathlib.Path(sys.argv[1]).stem
    failures = []
    for dep in (d for d in overlay if d["kind"] == "Deployment"):
        name = dep["metadata"]["name"]
        pod = dep["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                ref = source["configMapRef"]["name"]
                doc = find(overlay, "ConfigMap", ref)
                if doc is None:
                    failures.append(f"{label}/{name}: ConfigMap {ref} is not in the overlay")
                    continue
                env.update(doc.get("data") or {})
            if "secretRef" in source:
                ref = source["secretRef"]["name"]
                doc = find(overlay, "Secret", ref) or find(dev, "Secret", ref)
                if doc is None:
                    failures.append(f"{label}/{name}: Secret {ref} exists in no overlay")
                    continue
                env.update(secret_data(doc))
        env.update({e["name"]: e.get("value", "") for e in container.get("env", [])})
        port = free_port()
        db = f"k8s_start_{label}_{name.replace('-', '_')}"
        env.update({"APP_HOST": "127.0.0.1", "APP_PORT": str(port), "AMQP_URL": AMQP,
                    "PATH": os.environ.get("PATH", "")})
        if "DATABASE_URL" in env:
            env["DATABASE_URL"] = f"{PG}/{db}"
        keys = tempfile.mkdtemp(prefix=f"k8s-{name}-keys-")
        for volume in pod.get("volumes", []):
            ref = volume.get("secret", {}).get("secretName")
            if ref:
                doc = find(overlay, "Secret", ref) or find(dev, "Secret", ref)
                for file, content in secret_data(doc or {}).items():
                    pathlib.Path(keys, file).write_text(content)
                env["JWT_SIGNING_KEYS_DIR"] = keys
        log = open(pathlib.Path(tempfile.gettempdir()) / f"k8s-start-{label}-{name}.log", "w")

        def command(spec, args):
            """How one of the pod's containers runs here: its image, or the host's binary."""
            if not images:
                return [str(bin_dir / name), *args]
            image = spec["image"]
            subprocess.run(["docker", "tag", f"tessera/{name}", image], check=True)
            mounts = []
            for mount in spec.get("volumeMounts", []):
                if mount["name"] == "signing-keys":
                    mounts += ["-v", f"{keys}:{mount['mountPath']}:ro"]
            # `-e NAME` takes the value from this process's environment: no secret in argv.
            return ["docker", "run", "--rm", "--network", "host", "--read-only", "--tmpfs", "/tmp",
                    "--user", "10001:10001", "--name", f"k8s-start-{label}-{name}-{spec['name']}",
                    *[a for k in env if k not in ("PATH", "HOME") for a in ("-e", k)], *mounts, image, *args]

        run_env = env
        if images:
            # The Secret is mounted where the pod mounts it, readable by the container's user;
            # the docker client itself needs this process's PATH and HOME.
            mount = next((m["mountPath"] for m in container.get("volumeMounts", [])
                          if m["name"] == "signing-keys"), None)
            if mount:
                env["JWT_SIGNING_KEYS_DIR"] = mount
                os.chmod(keys, 0o755)
                for f in pathlib.Path(keys).iterdir():
                    os.chmod(f, 0o644)
            run_env = {**env, "HOME": os.environ.get("HOME", "/root")}
        for init in pod.get("initContainers", []):
            args = init.get("args", []) + (["--create-database"] if init.get("args") == ["migrate"] else [])
            done = subprocess.run(command(init, args), env=run_env, stdout=log, stderr=subprocess.STDOUT, timeout=120)
            if done.returncode != 0:
                failures.append(f"{label}/{name}: init container {init['name']} exited {done.returncode} (log: {log.name})")
        proc = subprocess.Popen(command(container, container.get("args", [])), env=run_env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            problem = wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            if images:
                subprocess.run(["docker", "rm", "-f", f"k8s-start-{label}-{name}-{container['name']}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if problem:
            tail = open(log.name).read().splitlines()[-5:]
            failures.append(f"{label}/{name}: {problem} (log: {log.name}): " + " | ".join(tail))
        else:
            print(f"  {label}/{name}: ready with the overlay's environment"
                  + (f" ({container['image']})" if images else ""))
        if "DATABASE_URL" in env:
            subprocess.run(["psql", "-q", f"{PG}/postgres", "-c", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if failures:
        sys.exit("overlay start check failed:\n  " + "\n  ".join(failures))


if __name__ == "__main__":
    main()
