# SPDX-License-Identifier: Apache-2.0
"""A CRI RuntimeService client over gRPC with our own definitions (cri.proto,
compiled by protoc --python_out into a directory on sys.path), for
scenario.py and pod.py."""
import os

import grpc
import cri_pb2 as pb


class Cri:
    """cri.Method(timeout=..., **fields): one unary call of runtime.v1.RuntimeService."""

    def __init__(self, path):
        self.ch = grpc.insecure_channel("unix://" + path)

    def __getattr__(self, method):
        req = getattr(pb, method + "Request")
        resp = getattr(pb, method + "Response")
        call = self.ch.unary_unary("/runtime.v1.RuntimeService/" + method,
                                   request_serializer=req.SerializeToString,
                                   response_deserializer=resp.FromString)
        return lambda timeout=300, **kw: call(req(**kw), timeout=timeout)


def pod_config(name, hostname, annotations, work, dns=None):
    """A pod as kubelet describes it: pod network (CNI), own pid namespace, logs under work/logs/NAME."""
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid="uid-" + name, namespace="default"),
        hostname=hostname, log_directory=os.path.join(work, "logs", name),
        dns_config=dns, labels={"app": name}, annotations=annotations,
        linux=pb.LinuxPodSandboxConfig(security_context=pb.LinuxSandboxSecurityContext(
            namespace_options=pb.NamespaceOption(network=0, pid=1, ipc=0))))
