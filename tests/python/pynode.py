"""pynode.py: a Python node for the tests, steered by its config (the
Python twin of tests/integ/testnode.c):
  call: a handle, method: NAME   run calls that method of that node,
                                 prints "reply: JSON", then returns
  stop: true                     after that, run stops the program
  wait: true                     after that, run waits for the stop
  exit: N                        run returns N at once
  raise_in: "init" | "run"       raise ValueError there
  check_wait: true               run prints wait_for_stop() before and
                                 after stop_program()
  say: TEXT                      run prints TEXT (no flush) first
It serves ping ("pong from GROUP/INDEX"), echo, stop_program, kinds (the
type of each config value, handles as "Client"), and chain (calls its
"peer" handle's ping and returns the answer).
"""
import json

import lpd


def _kind(v):
    if isinstance(v, list):
        return [_kind(x) for x in v]
    if isinstance(v, dict):
        return {k: _kind(x) for k, x in v.items()}
    return type(v).__name__


class Node:
    def __init__(self, call=None, method=None, stop=False, wait=False,
                 exit=None, raise_in=None, check_wait=False, peer=None,
                 say=None, **rest):
        if raise_in == "init":
            raise ValueError("asked to fail in __init__")
        self.call_to, self.method = call, method
        self.stop, self.wait, self.exit = stop, wait, exit
        self.raise_in, self.check_wait = raise_in, check_wait
        self.peer = peer
        self.say = say
        self.config = dict(rest, call=call, peer=peer)

    def ping(self):
        return "pong from %s" % lpd.node_name()

    def echo(self, *args, **kwargs):
        return [list(args), kwargs]

    def stop_program(self):
        print("stop_program called", flush=True)
        lpd.stop_program()
        return "stopping"

    def kinds(self):
        return _kind(self.config)

    def chain(self):
        return "%s via %s" % (self.peer.ping(), lpd.node_name())

    def run(self):
        if self.say is not None:
            print(self.say)
        if self.exit is not None:
            return self.exit
        if self.raise_in == "run":
            raise ValueError("asked to fail in run")
        if self.check_wait:
            print("before: %s" % lpd.wait_for_stop(0.05), flush=True)
        if self.call_to is not None:
            reply = self.call_to.call(self.method)
            print("reply: %s" % json.dumps(reply), flush=True)
        if self.stop:
            lpd.stop_program()
        if self.check_wait:
            print("after: %s" % lpd.wait_for_stop(0), flush=True)
        if self.wait:
            lpd.wait_for_stop()
        return None


if __name__ == "__main__":
    lpd.node_main(Node)
