#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Schema-level checks of runtimeclass/*.yaml and runtimeclass/policies/*.yaml.
  manifests.py REPO COCOCTL"""
import base64, gzip, os, re, subprocess, sys
import yaml

repo, cococtl = sys.argv[1], sys.argv[2]
rc_dir = os.path.join(repo, "runtimeclass")
passed = failed = 0
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")


def check(cond, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if cond else (passed, failed + 1)
    print(("ok - " if cond else "not ok - ") + what)


def docs(name):
    with open(os.path.join(rc_dir, name)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


installer = open(os.path.join(rc_dir, "install.sh")).read()
labels_set = {"coco.io/runtime": {"installed"}, "coco.io/tee": {"none", "snp", "tdx"}}
check("coco.io/runtime=installed" in installer and '"coco.io/tee=$tee"' in installer,
      "install.sh sets the labels the RuntimeClasses select on")

# RuntimeClasses: one per class, handler = a drop-in's runtime, labels the installer sets
rcs = docs("runtimeclasses.yaml")
names = sorted(d["metadata"]["name"] for d in rcs)
check(names == ["coco-dev", "coco-snp", "coco-tdx"], "three RuntimeClasses: %s" % names)
for d in rcs:
    n = d["metadata"]["name"]
    ok = d["apiVersion"] == "node.k8s.io/v1" and d["kind"] == "RuntimeClass" and d["handler"] == n
    dropin = open(os.path.join(rc_dir, "containerd", n + ".toml")).read()
    ok = ok and ('containerd.runtimes.%s]' % n) in dropin and 'runtime_type = "io.containerd.coco.v2"' in dropin
    ok = ok and ('etc/coco/%s.json"' % n[len("coco-"):]) in dropin
    pf = d["overhead"]["podFixed"]
    ok = ok and set(pf) == {"memory", "cpu"} and all(QUANTITY.match(str(v)) for v in pf.values())
    sel = d["scheduling"]["nodeSelector"]
    ok = ok and all(k in labels_set and v in labels_set[k] for k, v in sel.items())
    ok = ok and sel.get("coco.io/runtime") == "installed"
    tee = n[len("coco-"):]
    ok = ok and (sel.get("coco.io/tee") == tee if tee != "dev" else "coco.io/tee" not in sel)
    check(ok, "RuntimeClass %s: handler, drop-in, overhead, nodeSelector" % n)
    dropin_annotations = re.findall(r'"(io\.katacontainers\.[^"]+)"', dropin)
    check("io.katacontainers.config.hypervisor.cc_init_data" in dropin_annotations,
          "drop-in %s passes the initdata annotation to the shim" % n)

# DaemonSets: privileged, the host's / at HOST_ROOT, NODE_NAME, an account that may patch nodes
objs = docs("daemonset.yaml")
kinds = {d["kind"]: d for d in objs}
check(set(kinds) == {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet"},
      "daemonset.yaml: namespace, account, role, binding, DaemonSet")
role = kinds["ClusterRole"]["rules"]
check(any("nodes" in r["resources"] and "patch" in r["verbs"] for r in role) and
      all(r["resources"] == ["nodes"] for r in role), "the installer's role: patch nodes, nothing else")
for name, ds in (("daemonset.yaml", kinds["DaemonSet"]),
                 ("uninstall-daemonset.yaml", [d for d in docs("uninstall-daemonset.yaml") if d["kind"] == "DaemonSet"][0])):
    spec = ds["spec"]["template"]["spec"]
    c = spec["containers"][0]
    env = {e["name"]: e for e in c["env"]}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    vols = {v["name"]: v.get("hostPath", {}).get("path") for v in spec["volumes"]}
    ok = ds["apiVersion"] == "apps/v1" and c["securityContext"]["privileged"] is True
    ok = ok and spec["hostPID"] is True and spec["serviceAccountName"] == kinds["ServiceAccount"]["metadata"]["name"]
    ok = ok and env["HOST_ROOT"]["value"] == mounts["host"] and vols["host"] == "/"
    ok = ok and env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    ok = ok and ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items()
    action = "uninstall" if name.startswith("uninstall") else "install"
    ok = ok and ("install.sh %s " % action) in " ".join(c["command"])
    check(ok, "%s: privileged, host root at HOST_ROOT, NODE_NAME, runs install.sh %s" % (name, action))

# Kyverno policies
def rule_ok(r):
    return "match" in r and sum(k in r for k in ("mutate", "validate")) == 1 and \
        all("kinds" in a["resources"] for a in r["match"]["any"])


pols = {d["metadata"]["name"]: d for f in sorted(os.listdir(os.path.join(rc_dir, "policies")))
        if f.endswith(".yaml") for d in docs(os.path.join("policies", f))}
check(set(pols) == {"coco-inject-runtimeclass", "coco-validate-initdata"}, "two Kyverno policies")
for n, p in pols.items():
    check(p["apiVersion"] == "kyverno.io/v1" and p["kind"] == "ClusterPolicy" and
          all(rule_ok(r) for r in p["spec"]["rules"]), "%s: a ClusterPolicy whose rules match and mutate or validate" % n)

KEY = "io.katacontainers.config.hypervisor.cc_init_data"
inj = pols["coco-inject-runtimeclass"]["spec"]["rules"][0]
patch = inj["mutate"]["patchStrategicMerge"]
check(patch["spec"]["runtimeClassName"] in names and
      inj["match"]["any"][0]["resources"]["selector"]["matchLabels"] == {"coco.io/confidential": "true"},
      "inject: pods labelled coco.io/confidential=true get a coco RuntimeClass")
default = patch["metadata"]["annotations"]["+(%s)" % KEY]
decoded = subprocess.run([cococtl, "initdata", "decode", default], capture_output=True, text=True)
source = open(os.path.join(rc_dir, "policies", "default-initdata.toml")).read()
check(decoded.returncode == 0 and decoded.stdout == source,
      "inject: the default initdata is valid and is default-initdata.toml encoded")

val = pols["coco-validate-initdata"]
check(val["spec"]["validationFailureAction"] == "Enforce", "validate: enforced")
cond = val["spec"]["rules"][0]["validate"]["deny"]["conditions"]["any"][0]
regex = re.search(r"regex_match\('([^']+)'", cond["key"]).group(1)
good = subprocess.run([cococtl, "initdata", "encode", os.path.join(rc_dir, "policies", "default-initdata.toml")],
                      capture_output=True, text=True, check=True).stdout.strip()
cases = {
    good: True,
    default: True,
    base64.b64encode(gzip.compress(b"anything")).decode(): True,
    base64.b64encode(b"version = '0.1.0'").decode(): False,  # base64, not gzip
    good[:-3]: False,                                         # truncated
    good.replace("A", "!", 1): False,                         # not base64
    good + "\n": False,
    "": False,
}
for value, want in cases.items():
    got = re.match(regex, value) is not None and re.match(regex, value).end() == len(value)
    check(got == want, "validate: %r... is %s" % (value[:16], "accepted" if want else "rejected"))
check(cond["operator"] == "Equals" and cond["value"] is False, "validate: a mismatch denies")

print("manifests: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
