"""consumer.py: the consumer of Launchpad's consumer_producers example, in
Python. Each round it calls work(context) on every producer at once
through futures and sums the results; after `rounds` rounds it stops the
program.

It also serves round(base), one round on demand. Given `relay`, a handle
to another consumer (the C one, say), each round also asks that consumer
for a round of its own producers, so that calls cross between languages
both ways.
"""
import json

import lpd


def _text(results):
    return "results %s, sum %d" % (json.dumps(results, separators=(",", ":")),
                                   sum(results))


class Consumer:
    def __init__(self, producers, rounds=1, relay=None):
        if not isinstance(rounds, int) or rounds < 1:
            raise ValueError("config.rounds: not an int >= 1")
        self.producers = producers
        self.rounds = rounds
        self.relay = relay

    def round(self, base=0):
        """work(base + i) on producer i, all in flight at once."""
        if not isinstance(base, int):
            raise lpd.RpcError("INVALID_ARGUMENT", "round takes an int (the "
                               "first context), not a %s"
                               % type(base).__name__)
        futures = [p.futures.work(base + i)
                   for i, p in enumerate(self.producers)]
        return [f.result() for f in futures]

    def run(self):
        n = len(self.producers)
        for r in range(self.rounds):
            print("round %d: %s" % (r, _text(self.round(r * n))), flush=True)
            if self.relay is not None:
                print("round %d: through the relay: %s"
                      % (r, _text(self.relay.round(r * n))), flush=True)
        lpd.stop_program()


if __name__ == "__main__":
    lpd.node_main(Consumer)
