"""The operator's kopf handlers: plain decorated functions, all state in `memo` (a Runtime).

Index handlers (run for every object before any other handler) keep what the verdict needs in
memory; event handlers write ImageStacks, ModelProfiles, annotations and Events, and only when
something changed.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from tfguard.compat.resources import GROUP, VERSION
from tfguard.errors import ApiError
from tfguard.kube import load_config
from tfguard.operator import reconcile
from tfguard.operator.runtime import Runtime
from tfguard import annotations as A
from tfguard.workload.probe_pods import accepted_pod_probe, has_finished_probe
from tfguard.workload.templates import is_tfguard_workload

log = logging.getLogger("tfguard.operator")
INDEX_NAMES = ("pod_probes", "replicasets_by_deployment", "deployment_of_replicaset")


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: Runtime, **kwargs: Any) -> None:
    settings.posting.enabled = False  # tfguard posts its own Events, named for deduplication
    settings.scanning.disabled = True  # no CRD watching: tfguard's resources are known up front
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    memo.indices.update({name: kwargs[name] for name in INDEX_NAMES if name in kwargs})


@kopf.on.login()
def login(memo: Runtime, **kwargs: Any) -> kopf.ConnectionInfo:
    # Called again by kopf whenever the API server answers 401: an exec plugin's token that expired
    # is then fetched afresh.
    config = load_config(memo.settings.kubeconfig)
    token = config.bearer_token()
    return kopf.ConnectionInfo(
        server=config.server,
        ca_data=config.ca_data,
        insecure=config.insecure,
        certificate_data=config.client_cert_data,
        private_key_data=config.client_key_data,
        token=token,
        scheme=config.scheme if token else None,
        default_namespace=memo.settings.namespace,
    )


# --- indices: what the verdict needs, in memory ----------------------------------------------


@kopf.index("pods", when=has_finished_probe)
def pod_probes(body: kopf.Body, memo: Runtime, **_: Any):
    """Every finished probe tfguard injected, parsed once here, by the Pod's controller. A report from a
    container that only borrows the probe's name is remembered as refused, never indexed."""
    if not memo.settings.watches_namespace(body.metadata.namespace):
        return None
    settings = memo.settings
    probe, problem = accepted_pod_probe(dict(body), settings.probe_image, settings.probe_install_command)
    if probe is None:
        if problem is not None:
            memo.refuse_probe(body.metadata.uid or "", problem)
        return None
    return {(probe.namespace, *_controller(body)): probe}


def _controller(body: kopf.Body) -> tuple[str, str]:
    """The Pod's controller (kind, name); a bare Pod is its own."""
    for ref in body.metadata.get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("kind") or "", ref.get("name") or ""
    return "Pod", body.metadata.name or ""


def _deployment_owner(body: kopf.Body):
    for ref in body.metadata.get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == "Deployment":
            return ref.get("name")
    return None


@kopf.index("apps", "v1", "replicasets")
def replicasets_by_deployment(body: kopf.Body, memo: Runtime, **_: Any):
    owner = _deployment_owner(body)
    if owner is None or not memo.settings.watches_namespace(body.metadata.namespace):
        return None
    return {(body.metadata.namespace, owner): body.metadata.name}


@kopf.index("apps", "v1", "replicasets")
def deployment_of_replicaset(body: kopf.Body, memo: Runtime, **_: Any):
    owner = _deployment_owner(body)
    if owner is None or not memo.settings.watches_namespace(body.metadata.namespace):
        return None
    return {(body.metadata.namespace, body.metadata.name): owner}


# The fact store is fed from index handlers (they run for every object before any other handler),
# and they index nothing themselves: the store keeps its own indexes.
@kopf.index(GROUP, VERSION, "imagestacks")
def store_image_stack(body: kopf.Body, memo: Runtime, **_: Any) -> None:
    memo.store.put_stack(dict(body))


@kopf.index(GROUP, VERSION, "modelprofiles")
def store_model_profile(body: kopf.Body, memo: Runtime, **_: Any) -> None:
    memo.store.put_profile(dict(body))


@kopf.index("", "v1", "nodes")
def store_node(body: kopf.Body, memo: Runtime, **_: Any) -> None:
    memo.nodes.put(dict(body))


# --- events ----------------------------------------------------------------------------------


@kopf.on.event(GROUP, VERSION, "imagestacks")
async def image_stack_changed(type: str, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    memo.indexed.set()
    if type == "DELETED":
        memo.store.drop_stack(dict(body))
    # New or changed facts can change the verdict of every workload that runs the image; a status
    # update (another Pod observed the same facts) cannot.
    if _facts_changed(memo, ("ImageStack", body.metadata.name), type, body):
        memo.recheck_wanted.set()


@kopf.on.event(GROUP, VERSION, "modelprofiles")
async def model_profile_changed(type: str, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    memo.indexed.set()
    if type == "DELETED":
        memo.store.drop_profile(dict(body))
    if _facts_changed(memo, ("ModelProfile", body.metadata.namespace, body.metadata.name), type, body):
        memo.recheck_wanted.set()


def _facts_changed(memo: Runtime, key: tuple, type: str, body: kopf.Body) -> bool:
    spec = None if type == "DELETED" else dict(body.get("spec") or {})
    if memo.seen_specs.get(key) == spec:
        return False
    if spec is None:
        memo.seen_specs.pop(key, None)
    else:
        memo.seen_specs[key] = spec
    return True


@kopf.on.event("", "v1", "nodes")
async def node_changed(type: str, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    """A driver upgrade, a new node pool, a node gone: every workload is judged again (from memory;
    a write only where a verdict changed, and an Event where a workload lost every node it could run on).
    Status heartbeats change nothing the verdict depends on and cost nothing."""
    memo.indexed.set()
    if type == "DELETED":
        memo.nodes.drop(dict(body))  # the index handler stored it; this is where it goes
    if memo.nodes.generation != memo.nodes_judged_at:
        memo.nodes_judged_at = memo.nodes.generation
        memo.recheck_wanted.set()


@kopf.on.event("pods", when=has_finished_probe)
async def probe_finished(type: str, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    memo.indexed.set()
    if type == "DELETED" or not memo.settings.watches_namespace(body.metadata.namespace):
        return
    owner_kind, owner_name = _controller(body)
    probe = memo.pod_probe(body.metadata.namespace, owner_kind, owner_name, body.metadata.uid)
    if probe is None:
        refused = memo.refused_probes.get(body.metadata.uid or "")
        if refused is not None:
            await reconcile.report_pod(memo, dict(body), "OPERATOR_PROBE_NOT_TRUSTED", "TFGuardProbeNotTrusted",
                                       f"tfguard did not take the probe report of Pod {body.metadata.name}: {refused}. "
                                       "A report counts only from the probe the tfguard webhook injects.", refused)
        return
    readable = not any(c.code == "OPERATOR_UNREADABLE_PROBE_REPORT" for c in probe.checks)
    outcome = "accepted" if readable else "rejected"
    try:
        await reconcile.record_probe(memo, probe)
    except ApiError as exc:
        outcome = "failed"
        if not exc.namespace_terminating:
            log.warning("could not record the probe result of Pod %s/%s: %s", probe.namespace, probe.pod, exc)
    except Exception as exc:  # the facts can be written on the next event; the verdict is needed now
        outcome = "failed"
        log.warning("could not record the probe result of Pod %s/%s: %s", probe.namespace, probe.pod, exc)
    memo.count_probe(probe, outcome)
    for key in memo.workloads_of_pod(probe):
        await reconcile.reconcile_workload(memo, key)


@kopf.on.event("pods", annotations={A.PROBE_SKIPPED: kopf.PRESENT})
async def probe_skipped(type: str, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    """The webhook admitted a Pod without the probe because injecting it was not safe: say so where
    people look (the workload's Events), once per workload and reason."""
    if type == "DELETED" or not memo.settings.watches_namespace(body.metadata.namespace):
        return
    why = body.metadata.annotations.get(A.PROBE_SKIPPED) or ""
    await reconcile.report_pod(memo, dict(body), "ADMISSION_PROBE_NOT_INJECTED", "TFGuardProbeNotInjected",
                               f"tfguard admitted Pod {body.metadata.name} without its probe: {why}", why,
                               event_type="Normal")


@kopf.on.event("apps", "v1", "deployments")
@kopf.on.event("apps", "v1", "statefulsets")
@kopf.on.event("apps", "v1", "daemonsets")
async def workload_changed(type: str, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    memo.indexed.set()
    namespace = body.metadata.namespace
    key = (body.get("kind") or "", namespace or "", body.metadata.name or "")
    if type == "DELETED" or not memo.settings.watches_namespace(namespace):
        memo.workloads.pop(key, None)
        memo.reports.forget(key)
        return
    if not is_tfguard_workload(key[0], dict(body)):
        memo.workloads.pop(key, None)
        memo.reports.forget(key)
        await reconcile.forget_workload(memo, key, dict(body))  # its user annotations were removed
        return
    if reconcile.older_than_held(memo, key, body):
        return  # a late watch event, overtaken by the response to our own patch
    memo.workloads[key] = reconcile.compact(dict(body))
    await reconcile.reconcile_workload(memo, key)
