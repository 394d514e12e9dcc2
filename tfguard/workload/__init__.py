"""The workload layer: what tfguard reads from pod controllers, Pods and its own resources.

Shared by the admission webhook and the operator, which are peers standing on this layer and never
import each other. Everything here is pure and in memory (no I/O):

- `templates`: which objects carry a pod template, where it is, and the tfguard annotations on it;
- `images`: image references, their digests and the keys an ImageStack is found under;
- `store`: the fact store, ImageStacks and ModelProfiles as the API holds them and as facts, with
  their indexes (each service feeds it from its own watches);
- `resolve`: which container serves the model, and where its stack and the model's facts come from;
- `probe_pods`: a Pod's probe result, read once from its status.

It may import `tfguard.compat`, `tfguard.annotations` and `tfguard.errors`; nothing above it.
"""
