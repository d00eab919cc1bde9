"""lpd for Python: courier clients and servers, nodes, and lpd's control.

    import lpd

    c = lpd.Client("unix:/run/user/1000/lpd-x/n0")   # or "tcp:HOST:PORT"
    c.work(1)                     # a call; failure raises lpd.RpcError
    f = c.futures.work(2)         # a concurrent.futures.Future
    f.result(timeout=5)

    class Producer:               # a node: config keys are its kwargs,
        def work(self, context):  # handles arrive as lpd.Client objects;
            return context        # public methods are served

    if __name__ == "__main__":
        lpd.node_main(Producer)   # reads LP_*, serves, runs, stops

It speaks libcourier's wire protocol, so Python and C nodes call each
other. Values: None, bool, int, float, str, bytes, list, tuple, dict (str
keys), and tensors (numpy arrays, or lpd.Tensor without numpy).
"""
from ._errors import CODES, RpcError
from ._values import Tensor
from .client import Client
from .server import Server
from .node import (node_exec, node_main, node_name, program_name,
                   stop_program, stopping, wait_for_stop)
from .control import Control, default_socket

__all__ = [
    "CODES", "Client", "Control", "RpcError", "Server", "Tensor",
    "default_socket", "node_exec", "node_main", "node_name",
    "program_name", "stop_program", "stopping", "wait_for_stop",
]
__version__ = "0.1.0"
