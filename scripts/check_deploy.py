"""Checks deploy/ against what the binary really parses and serves.

    python3 scripts/check_deploy.py STRATA_BIN

Renders the Kubernetes base (`kubectl kustomize deploy/kubernetes`), reads the Dockerfile,
compose.yaml and the systemd unit, and checks that every port, probe, path, command and
configuration key in them agrees with the binary: each configuration is run through
`strata config check` (the effective values are compared, not the text), and a node is
started from the Kubernetes configuration (secrets, TLS and all, on ports the OS picks)
to answer the probes the manifests name, the Dockerfile's HEALTHCHECK command and the
preStop drain, which must stop it with exit status 0. Needs PyYAML, kubectl (for its
kustomize) and systemd-analyze. Exits non-zero naming the first disagreement.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
DEPLOY = os.path.join(ROOT, "deploy")


class Disagreement(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Disagreement(what)


def run(args, env=None, stdin=None):
    return subprocess.run(args, capture_output=True, text=True, env=env, input=stdin, timeout=300)


def effective(strata, config_text, env=None):
    """The configuration `strata config check` makes of this file and environment."""
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(config_text)
        path = f.name
    try:
        out = run([strata, "config", "check", path], env={"PATH": os.environ["PATH"], **(env or {})})
    finally:
        os.unlink(path)
    check(out.returncode == 0, f"strata config check refuses it: {out.stderr.strip()}")
    return tomllib.loads(out.stdout)


def port(addr):
    return int(addr.rsplit(":", 1)[1])


# ---- Kubernetes ----------------------------------------------------------------------


def kubernetes(strata):
    out = run(["kubectl", "kustomize", os.path.join(DEPLOY, "kubernetes")])
    check(out.returncode == 0, f"kubectl kustomize: {out.stderr.strip()}")
    check("Warning" not in out.stderr, f"kustomize warns: {out.stderr.strip()}")
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    check(sorted(by_kind) == ["ConfigMap", "PodDisruptionBudget", "Service", "StatefulSet"], f"kinds: {sorted(by_kind)}")
    (cm,) = by_kind["ConfigMap"]
    (sts,) = by_kind["StatefulSet"]
    (pdb,) = by_kind["PodDisruptionBudget"]
    services = {s["metadata"]["name"]: s for s in by_kind["Service"]}
    config_text = cm["data"]["strata.toml"]
    conf = effective(strata, config_text)

    spec = sts["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    check(spec["selector"]["matchLabels"].items() <= labels.items(), "the StatefulSet selects its own pods")
    (c,) = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    want = {"client": port(conf["listen"]), "raft": port(conf["raft_listen"]), "http": port(conf["http_listen"])}
    check(ports == want, f"container ports {ports} are not the configuration's {want}")
    for key in ("listen", "raft_listen", "http_listen"):
        check(conf[key].startswith("0.0.0.0:"), f"{key} must listen beyond loopback in a pod: {conf[key]}")

    # Services: the headless one names the pods for joining and raft, ready or not.
    check(spec["serviceName"] in services, f"serviceName {spec['serviceName']} is not a Service")
    peers = services[spec["serviceName"]]["spec"]
    check(peers.get("clusterIP") == "None", "the peers' Service is headless")
    check(peers.get("publishNotReadyAddresses") is True, "peers are reachable before they are ready")
    for name, s in services.items():
        check(s["spec"]["selector"].items() <= labels.items(), f"Service {name} selects the pods")
        for p in s["spec"]["ports"]:
            check(p["targetPort"] in ports, f"Service {name} targets port {p['targetPort']}, which the pod lacks")
            check(p["port"] == ports[p["targetPort"]], f"Service {name} port {p['port']} differs from {p['targetPort']}")
    clients = [n for n, s in services.items() if s["spec"].get("clusterIP") != "None"]
    check(clients, "a Service for clients")
    check(pdb["spec"].get("maxUnavailable") == 1, "the PodDisruptionBudget allows one pod down")
    check(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(), "the PodDisruptionBudget selects the pods")

    # Probes: the paths the binary serves, on its HTTP port.
    probes = {}
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        if kind in c:
            get = c[kind]["httpGet"]
            p = ports.get(get["port"], get["port"])
            check(p == want["http"], f"{kind} probes port {get['port']}, not the HTTP port")
            scheme = get.get("scheme", "HTTP")
            want_scheme = "HTTPS" if conf.get("tls", {}).get("cert_file") else "HTTP"
            check(scheme == want_scheme, f"{kind} asks {scheme}; the HTTP port serves {want_scheme}")
            probes[kind] = (get["path"], scheme)
    paths = {k: v[0] for k, v in probes.items()}
    check(paths.get("readinessProbe") == "/readyz" and paths.get("livenessProbe") == "/livez", f"probes: {paths}")

    # Paths: data on the claim, the configuration where the command reads it, secrets
    # and TLS files where the configuration names them.
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    claims = [t["metadata"]["name"] for t in spec["volumeClaimTemplates"]]
    data_mounts = [m["mountPath"] for n, m in mounts.items() if n in claims]
    check(data_mounts == [conf["data_dir"]], f"the claim is mounted at {data_mounts}, data_dir is {conf['data_dir']}")
    command = " ".join(c.get("command", []) + c.get("args", []))
    config_path = re.search(r"serve --config (\S+)", command)
    check(config_path, f"the container runs strata serve --config: {command}")
    config_mount = [m for m in c["volumeMounts"] if m["mountPath"] == config_path.group(1)]
    check(config_mount and config_mount[0].get("subPath") == "strata.toml", "the ConfigMap is mounted where serve reads it")
    volumes = {v["name"]: v for v in pod["volumes"]}

    def mounted_secret(path):
        for m in c["volumeMounts"]:
            base = m["mountPath"].rstrip("/") + "/"
            if path.startswith(base) and "secret" in volumes.get(m["name"], {}):
                secret = volumes[m["name"]]["secret"]
                name = path[len(base):]
                items = secret.get("items")
                check(items is None or any(i["path"] == name for i in items), f"{path} is not among the Secret's items")
                return secret
        raise Disagreement(f"{path} is on no Secret volume")

    auth_secret = mounted_secret(conf["auth"]["cluster_secret_file"])
    mounted_secret(conf["auth"]["api_keys_file"])
    check(auth_secret.get("defaultMode") in (0o400, 0o440), "the cluster secret is mounted private (0400 or 0440)")
    for key in ("cert_file", "key_file", "ca_file"):
        mounted_secret(conf["tls"][key])
    check(pod["securityContext"].get("runAsNonRoot") is True, "pods run as a non-root user")

    # The drain: preStop runs `strata node drain` on the pod's client port, in time.
    pre_stop = c["lifecycle"]["preStop"]["exec"]["command"]
    check(pre_stop[:3] == ["strata", "node", "drain"], f"preStop: {pre_stop}")
    check(port(pre_stop[3]) == want["client"], f"preStop drains port {pre_stop[3]}, not the client port")
    check(pod["terminationGracePeriodSeconds"] >= 30, "time for a drain (20 s) and the shutdown")
    env = {e["name"]: e for e in c["env"]}
    check("STRATA_API_KEY" in env, "the drain presents an admin key")
    check(env.get("STRATA_CA_FILE", {}).get("value") == conf["tls"]["ca_file"], "the drain trusts the cluster CA")
    for name in ("STRATA_ADVERTISE", "STRATA_RAFT_ADVERTISE"):
        value = env[name]["value"]
        check(value.endswith(f".{spec['serviceName']}.$(POD_NAMESPACE).svc.cluster.local:{want['client' if name == 'STRATA_ADVERTISE' else 'raft']}"),
              f"{name} names the pod through the peers' Service: {value}")
    join = re.search(r'STRATA_JOIN="\[([^\]]+)\]"', command)
    check(join and join.group(1).endswith(f".{spec['serviceName']}.${{POD_NAMESPACE}}.svc.cluster.local:{want['client']}"),
          f"pods join through the peers' Service on the client port: {command}")
    # The environment the pods get parses to what it says.
    pod_env = {
        "STRATA_ADVERTISE": "strata-1.strata-peers.ns.svc.cluster.local:7400",
        "STRATA_JOIN": "[strata-0.strata-peers.ns.svc.cluster.local:7400]",
    }
    joined = effective(strata, config_text, pod_env)
    check(joined["join"] == ["strata-0.strata-peers.ns.svc.cluster.local:7400"], f"join parses: {joined['join']}")
    return config_text, conf, probes, pre_stop


# ---- Dockerfile and compose ------------------------------------------------------------


def dockerfile(strata):
    lines = []
    for raw in open(os.path.join(DEPLOY, "Dockerfile")).read().replace("\\\n", " ").splitlines():
        raw = raw.strip()
        if raw and not raw.startswith("#"):
            lines.append(raw)
    stages = [i for i, l in enumerate(lines) if l.upper().startswith("FROM ")]
    check(len(stages) >= 2, "a multi-stage build")
    final = lines[stages[-1]:]

    def instr(name):
        return [l[len(name) + 1:].strip() for l in final if l.upper().startswith(name + " ")]

    (user,) = instr("USER")
    check(user.split(":")[0] not in ("0", "root"), f"the image runs as a non-root user: {user}")
    copies = {l.split()[-2]: l.split()[-1] for l in instr("COPY") if "--from" not in l}
    config_dest = [d for s, d in copies.items() if s.endswith(".toml")]
    check(len(config_dest) == 1, f"one configuration copied in: {copies}")
    source = [s for s, d in copies.items() if d == config_dest[0]][0]
    config_text = open(os.path.join(ROOT, source)).read()
    conf = effective(strata, config_text)
    cmd = yaml.safe_load(instr("CMD")[0])
    entry = yaml.safe_load(instr("ENTRYPOINT")[0])
    check(entry + cmd == ["strata", "serve", "--config", config_dest[0]], f"the image serves its configuration: {entry + cmd}")
    (volume,) = instr("VOLUME")
    check(volume == conf["data_dir"], f"VOLUME {volume} is not data_dir {conf['data_dir']}")
    exposed = sorted(int(p) for p in instr("EXPOSE")[0].split())
    check(exposed == sorted(port(conf[k]) for k in ("listen", "raft_listen", "http_listen")), f"EXPOSE {exposed}")
    (health,) = instr("HEALTHCHECK")
    health_cmd = yaml.safe_load(health.split("CMD", 1)[1].strip())
    check(health_cmd[:3] == ["strata", "probe", "readyz"], f"HEALTHCHECK: {health_cmd}")
    check(port(health_cmd[health_cmd.index("--http") + 1]) == port(conf["http_listen"]), "HEALTHCHECK probes the HTTP port")
    check(instr("STOPSIGNAL") == ["SIGTERM"], "docker stop drains (SIGTERM)")
    return conf, health_cmd


def compose(strata, image_conf):
    doc = yaml.safe_load(open(os.path.join(DEPLOY, "compose.yaml")))
    services = doc["services"]
    check(len(services) == 3, "three nodes")
    secrets = doc["secrets"]
    for name in secrets:
        path = f"/run/secrets/{name}"
        check(path in (image_conf["auth"]["cluster_secret_file"], image_conf["auth"]["api_keys_file"]),
              f"secret {name} lands at {path}, which the image's configuration does not read")
    text = open(os.path.join(ROOT, "deploy/container/strata.toml")).read()
    starters = 0
    for name, s in services.items():
        check(s["build"]["dockerfile"] == "deploy/Dockerfile", f"{name} builds the image")
        volume_targets = [v.split(":")[1] for v in s["volumes"]]
        check(volume_targets == [image_conf["data_dir"]], f"{name} keeps data_dir on a volume: {volume_targets}")
        check(sorted(s["secrets"]) == sorted(secrets), f"{name} mounts the secrets")
        env = {k: str(v) for k, v in s["environment"].items()}
        conf = effective(strata, text, env)
        check(conf["advertise"] == f"{name}:{port(image_conf['listen'])}", f"{name} advertises itself: {conf.get('advertise')}")
        check(conf["raft_advertise"] == f"{name}:{port(image_conf['raft_listen'])}", f"{name}'s raft address")
        if not conf["join"]:
            starters += 1
        for member in conf["join"]:
            host, p = member.rsplit(":", 1)
            check(host in services and int(p) == port(image_conf["listen"]), f"{name} joins {member}: no such node")
        check(int(s["stop_grace_period"].rstrip("s")) >= 30, f"{name} has time to drain")
    check(starters == 1, "exactly one node starts the cluster")


# ---- systemd -----------------------------------------------------------------------------


def systemd(strata):
    unit_path = os.path.join(DEPLOY, "systemd", "strata.service")
    unit = open(unit_path).read()
    settings = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            k, v = line.split("=", 1)
            settings.setdefault(k.strip(), []).append(v.strip())
    check(settings["Type"] == ["notify"], "Type=notify")
    for hardening in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "CapabilityBoundingSet"):
        check(hardening in settings, f"hardening option {hardening}")
    exec_start = shlex.split(settings["ExecStart"][0])
    check(exec_start[1:3] == ["serve", "--config"], f"ExecStart: {exec_start}")
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, "strata.service")
        with open(local, "w") as f:
            f.write(unit.replace(exec_start[0], os.path.abspath(strata)))
        out = run(["systemd-analyze", "verify", local])
        noise = [l for l in (out.stdout + out.stderr).splitlines() if "strata.service" in l]
        check(out.returncode == 0 and not noise, f"systemd-analyze verify: {out.stdout} {out.stderr}")
    env = {}
    for line in open(os.path.join(DEPLOY, "systemd", "strata.env")):
        line = line.strip()
        if line and not line.startswith("#"):
            k, v = line.split("=", 1)
            env[k] = v
    conf = effective(strata, open(os.path.join(DEPLOY, "strata.example.toml")).read(), env)
    check(conf["data_dir"] == "/var/lib/" + settings["StateDirectory"][0], "data_dir is the unit's StateDirectory")
    check(conf["log_format"] == env["STRATA_LOG_FORMAT"], "the env file's settings take effect")
    check(int(settings["TimeoutStopSec"][0]) >= 30, "time for a drain")


# ---- live nodes ---------------------------------------------------------------------------


class Node:
    """A node started from a deployment's configuration: its secret, keys and TLS files
    made here where the configuration names them (moved under a temporary directory),
    ports the OS picks."""

    def __init__(self, strata, tmp, config_text, conf):
        self.strata, self.conf = strata, conf
        secrets = os.path.join(tmp, "secrets")
        os.makedirs(secrets)
        out = run([strata, "keys", "secret", os.path.join(secrets, os.path.basename(conf["auth"]["cluster_secret_file"]))])
        check(out.returncode == 0, out.stderr)
        keys = run([strata, "keys", "new", "--name", "admin", "--role", "admin"])
        self.admin = re.search(r"strata_[0-9a-f]+", keys.stdout).group(0)
        with open(os.path.join(secrets, os.path.basename(conf["auth"]["api_keys_file"])), "w") as f:
            f.write(keys.stdout)
        moves = [(os.path.dirname(conf["auth"]["cluster_secret_file"]), secrets), (conf["data_dir"], os.path.join(tmp, "data"))]
        self.ca = None
        if conf.get("tls", {}).get("cert_file"):
            tls = os.path.join(tmp, "tls")
            cert_name = os.path.splitext(os.path.basename(conf["tls"]["cert_file"]))[0]
            check(os.path.splitext(os.path.basename(conf["tls"]["key_file"]))[0] == cert_name, "cert and key share a name")
            out = run([strata, "keys", "tls", tls, "--name", cert_name, "--host", "127.0.0.1"])
            check(out.returncode == 0, out.stderr)
            self.ca = os.path.join(tls, os.path.basename(conf["tls"]["ca_file"]))
            if not os.path.exists(self.ca):
                shutil.copy(os.path.join(tls, "ca.pem"), self.ca)
            moves.append((os.path.dirname(conf["tls"]["cert_file"]), tls))
        text = config_text
        for old, new in moves:
            text = text.replace(f'"{old}', f'"{new}')
        config = os.path.join(tmp, "strata.toml")
        with open(config, "w") as f:
            f.write(text)
        self.env = {
            "PATH": os.environ["PATH"],
            "STRATA_LISTEN": "127.0.0.1:0",
            "STRATA_RAFT_LISTEN": "127.0.0.1:0",
            "STRATA_HTTP_LISTEN": "127.0.0.1:0",
        }
        self.proc = subprocess.Popen([strata, "serve", "--config", config], env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        ready = re.search(r"client=(\S+) .*http=(\S+)", line)
        check(ready, f"no node starts from this configuration: {line!r}")
        self.client, self.http = ready.group(1), ready.group(2)

    def answers_200(self, path, scheme):
        import ssl
        context = ssl.create_default_context(cafile=self.ca) if scheme == "HTTPS" else None
        url = f"{scheme.lower()}://{self.http}{path}"
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5, context=context) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            check(time.time() < deadline, f"{url} never answered 200")
            time.sleep(0.2)

    def drain(self, command):
        """Runs a `strata node drain` command line (from a manifest) against this node;
        it must stop with status 0."""
        drain = [self.strata] + command[1:]
        drain[3] = self.client
        env = {**self.env, "STRATA_API_KEY": self.admin}
        if self.ca:
            env["STRATA_CA_FILE"] = self.ca
        out = run(drain, env=env)
        check(out.returncode == 0, f"the drain fails: {out.stderr}")
        check(self.proc.wait(timeout=60) == 0, "the drained node exits 0")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def live_kubernetes(strata, config_text, conf, probes, pre_stop):
    """The probes the manifests name answer 200 (over HTTPS where the configuration has
    TLS, as kubelet asks), and the preStop drain stops the node."""
    with tempfile.TemporaryDirectory() as tmp:
        node = Node(strata, tmp, config_text, conf)
        try:
            for kind, (path, scheme) in probes.items():
                node.answers_200(path, scheme)
            node.drain(pre_stop)
        finally:
            node.stop()


def live_image(strata, health_cmd):
    """The image's HEALTHCHECK command passes on a ready node of the image's
    configuration and fails once it is gone; SIGTERM (STOPSIGNAL) drains it to exit 0."""
    text = open(os.path.join(ROOT, "deploy/container/strata.toml")).read()
    with tempfile.TemporaryDirectory() as tmp:
        node = Node(strata, tmp, text, effective(strata, text))
        try:
            node.answers_200("/readyz", "HTTP")
            health = [strata] + health_cmd[1:]
            health[health.index("--http") + 1] = node.http
            out = run(health)
            check(out.returncode == 0, f"the HEALTHCHECK command fails on a ready node: {out.stderr}")
            node.proc.terminate()
            check(node.proc.wait(timeout=60) == 0, "SIGTERM drains the node to exit 0")
            check(run(health).returncode != 0, "the HEALTHCHECK command fails once the node is gone")
        finally:
            node.stop()


def main():
    strata = os.path.abspath(sys.argv[1])
    try:
        config_text, conf, probes, pre_stop = kubernetes(strata)
        image_conf, health_cmd = dockerfile(strata)
        compose(strata, image_conf)
        systemd(strata)
        live_kubernetes(strata, config_text, conf, probes, pre_stop)
        live_image(strata, health_cmd)
    except Disagreement as e:
        print(f"deploy/ disagrees with the binary: {e}", file=sys.stderr)
        return 1
    print("deploy/: Kubernetes, Dockerfile, compose and systemd agree with the binary")
    return 0


if __name__ == "__main__":
    sys.exit(main())
