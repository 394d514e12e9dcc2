"""tfguard: keep TensorFlow models off images that cannot load them.

The layers, bottom up (each may import only those below it):

- `errors`, `settings`, `text`, `annotations`: the error tree, the one settings mechanism, text
  limits, and every name tfguard reads or writes on Kubernetes objects.
- `compat`: the compatibility engine. Reads models without TensorFlow (`compat.inspect`), knows each
  TensorFlow release from measured facts (`compat.releases`), names the loaders (`compat.loaders`),
  and turns model + stack + loader into a verdict (`compat.verdict` over `compat.rules`).
- `workload`: what tfguard reads from pod controllers, Pods and its own resources, in memory.
- `kube`: the small Kubernetes API client.
- `webhook`, `operator`: the two services, peers that never import each other.
- `commands`, `cli`, `plugin`: the command lines (`tfguard`, and `kubectl-tfguard`), with `progress`
  (their progress bar).
- `probes/probe.py`: the in-pod probe, a single stdlib-only file that imports nothing of tfguard.
"""

__version__ = "0.1.0"
