"""The operator (kopf): probe results become ImageStacks and ModelProfiles, workloads get verdict
annotations and Events, background re-checks, the webhook's certificates, leader election.

Stands on `tfguard.workload`, `tfguard.compat` and `tfguard.kube`; never imports `tfguard.webhook`.
"""
