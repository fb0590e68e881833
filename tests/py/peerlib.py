"""peerlib.py — what the python3-grpcio peers share: the failure type, check(), and stubs
generated from proto/ at test time (grpc_tools when installed, else protoc with Debian's
grpc_python_plugin)."""
import os
import shutil
import subprocess
import sys


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def gen_stubs(proto_dir, out, proto_name):
    """Generates the python modules of proto_dir/proto_name into out and makes them importable."""
    proto = os.path.join(proto_dir, proto_name)
    try:
        import grpc_tools  # noqa: F401
        cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I", proto_dir, "-I", "/usr/include",
               "--python_out=" + out, "--grpc_python_out=" + out, proto]
    except ImportError:
        plugin = shutil.which("grpc_python_plugin") or "/usr/bin/grpc_python_plugin"
        cmd = ["protoc", "-I", proto_dir, "-I", "/usr/include", "--python_out=" + out,
               "--grpc_out=" + out, "--plugin=protoc-gen-grpc=" + plugin, proto]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise Failure("generating stubs failed: %s\n%s" % (" ".join(cmd), r.stdout))
    sys.path.insert(0, out)
