"""A toy ensemble method added through the registry, as a researcher's own module would
(listed under ``plugins`` in the config): two independent single networks of 3 epochs."""

from distancing.peers import Peer, register

register(Peer("toy_pair", lambda e: "two 3-epoch networks",
              lambda e, model, i, seed: [(e.single_network(model, seed=s, epochs=3), (3,))
                                         for s in (100 + 2 * i, 101 + 2 * i)]))
