#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""One long-running pod for tests/cri/run.sh's binary-replacement check.
  pod.py GENDIR SOCKET WORKDIR run              -> prints "POD CONTAINER"
  pod.py GENDIR SOCKET WORKDIR exec CONTAINER   -> prints what `echo alive` printed
  pod.py GENDIR SOCKET WORKDIR stop POD"""
import os, sys

gen, sock, work, action = sys.argv[1:5]
sys.path[:0] = [gen, os.path.dirname(os.path.abspath(__file__))]
import cri_pb2 as pb  # noqa: E402
from client import Cri, pod_config  # noqa: E402

cri = Cri(sock)
if action == "run":
    cfg = pod_config("keep", "keep", {}, work)
    pod = cri.RunPodSandbox(config=cfg, runtime_handler="coco-dev").pod_sandbox_id
    c = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="c"),
                           image=pb.ImageSpec(image="docker.io/library/busybox:coco"),
                           command=["sleep", "100000"])
    cid = cri.CreateContainer(pod_sandbox_id=pod, config=c, sandbox_config=cfg).container_id
    cri.StartContainer(container_id=cid)
    print(pod, cid)
elif action == "exec":
    print(cri.ExecSync(container_id=sys.argv[5], cmd=["echo", "alive"], timeout=60).stdout.decode(), end="")
else:
    cri.StopPodSandbox(pod_sandbox_id=sys.argv[5])
    cri.RemovePodSandbox(pod_sandbox_id=sys.argv[5])
