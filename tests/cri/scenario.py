#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Pods through containerd's CRI plugin with the coco runtime handlers, as
kubelet would drive them, over gRPC with our own CRI definitions (cri.proto).
  scenario.py GENDIR CRI_SOCKET WORKDIR INITDATA_ANNOTATION
Prints ok/not ok lines and exits 1 when a check failed."""
import json, os, socket, subprocess, sys, time

gen, sock, work, initdata = sys.argv[1:5]
sys.path[:0] = [gen, os.path.dirname(os.path.abspath(__file__))]
import grpc  # noqa: E402
import cri_pb2 as pb  # noqa: E402
from client import Cri, pod_config  # noqa: E402

INITDATA_KEY = "io.katacontainers.config.hypervisor.cc_init_data"
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + what, flush=True)
    else:
        failed += 1
        print("not ok - " + what, flush=True)


cri = Cri(sock)


def container(pod_id, cfg, name, args):
    c = pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name),
                           image=pb.ImageSpec(image="docker.io/library/busybox:coco"),
                           command=["/bin/sh", "-c"], args=args, log_path=name + ".log",
                           labels={"c": name})
    cid = cri.CreateContainer(pod_sandbox_id=pod_id, config=c, sandbox_config=cfg).container_id
    cri.StartContainer(container_id=cid)
    return cid


def exec_sync(cid, cmd, timeout=60):
    r = cri.ExecSync(container_id=cid, cmd=cmd, timeout=timeout)
    return r.exit_code, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def fails(fn):
    """The gRPC error text of fn(), or None when it succeeds."""
    try:
        fn()
    except grpc.RpcError as e:
        return e.details()
    return None


def qemu_count():
    out = subprocess.run(["pgrep", "-f", "guest=coco-"], capture_output=True, text=True).stdout
    return len(out.split())


v = cri.Version(version="v1")
check(v.runtime_name == "containerd" and v.runtime_api_version.startswith("v1"),
      "CRI Version answers (%s %s)" % (v.runtime_name, v.runtime_version))

st = cri.Status(verbose=True)
runtimes = json.loads(st.info.get("config", "{}")).get("containerd", {}).get("runtimes", {})
check(all(runtimes.get(h, {}).get("runtimeType") == "io.containerd.coco.v2"
          for h in ("coco-dev", "coco-snp", "coco-tdx")) and "runc" in runtimes,
      "CRI Status lists the handlers coco-dev, coco-snp, coco-tdx beside runc")
check(all(c.status for c in st.status.conditions if c.type in ("RuntimeReady", "NetworkReady")),
      "CRI Status: runtime and network ready")

# --- a pod of two containers in one VM, with CNI networking --------------------
dns = pb.DNSConfig(servers=["169.254.91.53"], searches=["pod.example"])
cfg = pod_config("web", "coco-web", {INITDATA_KEY: initdata, "example.com/other": "x"}, work, dns)
t0 = time.monotonic()
pod = cri.RunPodSandbox(config=cfg, runtime_handler="coco-dev").pod_sandbox_id
st = cri.PodSandboxStatus(pod_sandbox_id=pod).status
check(st.state == 0, "RunPodSandbox with handler coco-dev: the sandbox is ready in %.1f s"
      % (time.monotonic() - t0))
ip = st.network.ip
check(ip.startswith("169.254.91."), "the pod has an address from the CNI bridge plugin (%s)" % ip)
check(qemu_count() == 1, "the pod sandbox runs in one VM")
run_dir = os.path.join("/run/coco", pod)
check(os.path.exists(os.path.join(run_dir, "initdata.img")),
      "the pod's initdata annotation reached the shim (initdata disk in %s)" % run_dir)

app = container(pod, cfg, "app",
                ["echo app-started; echo app-err >&2; "
                 "while true; do echo hello-from-pod | nc -l -p 8080; done"])
side = container(pod, cfg, "side", ["exec sleep 100000"])
check(cri.ContainerStatus(container_id=app).status.state == 1, "container app runs")
check(qemu_count() == 1, "the pod's second container joins the same VM")

rc, out, _ = exec_sync(app, ["cat", "/proc/sys/kernel/random/boot_id"])
rc2, out2, _ = exec_sync(side, ["cat", "/proc/sys/kernel/random/boot_id"])
host_boot = open("/proc/sys/kernel/random/boot_id").read()
check(rc == 0 and rc2 == 0 and out == out2 and out != host_boot,
      "ExecSync: both containers share one guest kernel, not the host's")
rc, out, err = exec_sync(app, ["sh", "-c", "echo to-out; echo to-err >&2; exit 7"])
check((rc, out, err) == (7, "to-out\n", "to-err\n"), "ExecSync returns exit code, stdout, stderr")
rc, out, _ = exec_sync(app, ["hostname"])
check(out.strip() == "coco-web", "the pod's hostname in the container (%s)" % out.strip())
rc, out, _ = exec_sync(app, ["cat", "/etc/resolv.conf"])
check("nameserver 169.254.91.53" in out and "pod.example" in out,
      "the pod's DNS config in /etc/resolv.conf")
rc, out, _ = exec_sync(app, ["ip", "-4", "addr", "show", "eth0"])
check(("inet %s/" % ip) in out, "the guest's eth0 carries the pod address")

got = b""
for _ in range(30):
    try:
        with socket.create_connection((ip, 8080), timeout=10) as s:
            got = s.recv(100)
        if got:
            break
    except OSError:
        time.sleep(1)
check(got.startswith(b"hello-from-pod"), "the host reaches a TCP server in the pod (%r)" % got)

log = os.path.join(work, "logs", "web", "app.log")
text = open(log).read() if os.path.exists(log) else ""
check(" stdout F app-started" in text and " stderr F app-err" in text,
      "container logs in CRI format in %s" % log)

stats = cri.ContainerStats(container_id=app).stats
check(stats.attributes.id == app and stats.cpu.usage_core_nano_seconds.value > 0 and
      stats.memory.working_set_bytes.value > 0,
      "ContainerStats from the guest's cgroup: cpu %d ns, working set %d bytes"
      % (stats.cpu.usage_core_nano_seconds.value, stats.memory.working_set_bytes.value))
os.rename(log, log + ".1")  # as kubelet rotates logs
cri.ReopenContainerLog(container_id=app)
exec_sync(app, ["sh", "-c", "echo after-rotation >/proc/1/fd/1"])
time.sleep(1)
text = open(log).read() if os.path.exists(log) else ""
check(" stdout F after-rotation" in text, "ReopenContainerLog: output goes to the new log file")

t0 = time.monotonic()
cri.StopContainer(container_id=app, timeout=2)
s = cri.ContainerStatus(container_id=app).status
check(s.state == 2 and s.exit_code in (137, 143),
      "StopContainer: app exited (%d) in %.1f s" % (s.exit_code, time.monotonic() - t0))
cri.RemoveContainer(container_id=app)
check(fails(lambda: cri.ContainerStatus(container_id=app)) is not None, "RemoveContainer")
limit = 64 << 20
err = fails(lambda: cri.UpdateContainerResources(container_id=side, linux=pb.LinuxContainerResources(
    memory_limit_in_bytes=limit, cpu_quota=50000, cpu_period=100000)))
avail = cri.ContainerStats(container_id=side).stats.memory.available_bytes.value
check(err is None and 0 < avail <= limit,
      "UpdateContainerResources: a 64 MiB limit reaches the guest's cgroup (%d bytes left)%s"
      % (avail, ": " + err if err else ""))
rc, out, _ = exec_sync(side, ["echo", "still"])
check(out == "still\n", "the other container still runs")

cri.StopPodSandbox(pod_sandbox_id=pod)
check(cri.PodSandboxStatus(pod_sandbox_id=pod).status.state == 1, "StopPodSandbox")
cri.RemovePodSandbox(pod_sandbox_id=pod)
time.sleep(1)
check(qemu_count() == 0 and not os.path.exists(run_dir),
      "RemovePodSandbox: no QEMU and no run directory left")

# --- refusals: each a clear error, and nothing left ------------------------------
bad = pod_config("bad", "bad", {INITDATA_KEY: "bm90IGd6aXA="}, work)
err = fails(lambda: cri.RunPodSandbox(config=bad, runtime_handler="coco-dev"))
check(err is not None and "initdata" in err, "a pod with bad initdata fails: %s" % err)
for tee, word in (("snp", "SEV-SNP"), ("tdx", "TDX")):
    c = pod_config("on-" + tee, "on-" + tee, {}, work)
    err = fails(lambda: cri.RunPodSandbox(config=c, runtime_handler="coco-" + tee))
    check(err is not None and word in err, "coco-%s fails preflight on this host: %s" % (tee, err))
err = fails(lambda: cri.RunPodSandbox(config=pod_config("none", "none", {}, work),
                                      runtime_handler="coco-nonesuch"))
check(err is not None and "coco-nonesuch" in err, "an unknown handler is refused: %s" % err)
time.sleep(1)
check(qemu_count() == 0 and not [d for d in os.listdir("/run/coco") if not d.startswith(".")]
      if os.path.isdir("/run/coco") else qemu_count() == 0, "nothing is left after the refusals")

print("cri: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
