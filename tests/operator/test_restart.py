"""Two replicas, one Lease: the leader is SIGKILLed mid-way and the standby takes over. No
annotation is lost or rewritten, and no Event is recorded twice."""

from __future__ import annotations

import pytest

from operator_helpers import annotations_of, image_for, serving_deployment, tfguard_events, wait_for_pod, write_probe_status

pytestmark = [pytest.mark.cluster, pytest.mark.tf]
LEASE = ("--lease-duration", "4", "--lease-renew-every", "1")


def create(cp, namespace, names, image, digest, report):
    for name in names:
        cp.apply(serving_deployment(name, namespace, image))
    for name in names:
        pod = wait_for_pod(cp, namespace, name)
        write_probe_status(cp, namespace, pod, image, digest, report, 0)


def all_annotated(cp, namespace, names):
    found = {n: annotations_of(cp, namespace, "deployment", n) for n in names}
    return found if all(a.get("tfguard.io/verdict") == "compatible" for a in found.values()) else None


def test_killing_the_leader_loses_and_duplicates_nothing(operator, namespace, probe_reports, crds):
    cp = crds
    tf_version, report = probe_reports["verified"]
    image, digest = image_for(tf_version)
    leader = operator(*LEASE)
    first = [f"model-{i}" for i in range(6)]
    create(cp, namespace, first, image, digest, report)
    before = cp.wait_for(lambda: all_annotated(cp, namespace, first), timeout=90, what="the first six annotated")
    cp.wait_for(lambda: all(tfguard_events(cp, namespace, n) for n in first), timeout=30, what="their Events")
    before_events = {n: [e["reason"] for e in tfguard_events(cp, namespace, n)] for n in first}

    standby = operator(*LEASE)
    second = [f"model-{i}" for i in range(6, 10)]
    # The leader dies while the next four Deployments are arriving.
    for name in second:
        cp.apply(serving_deployment(name, namespace, image))
    leader.kill()
    create(cp, namespace, second, image, digest, report)

    after = cp.wait_for(lambda: all_annotated(cp, namespace, first + second), timeout=120,
                        what="all ten annotated by the new leader")
    standby.assert_running()
    for name in first:
        assert after[name] == before[name], f"{name}: annotations rewritten after the restart"
    for name in first + second:
        # In the order the API server stored them (timestamps have whole seconds only).
        events = sorted(tfguard_events(cp, namespace, name), key=lambda e: int(e["metadata"]["resourceVersion"]))
        # One Event per change of verdict, each recorded once (a Deployment seen before its Pod's probe
        # finished may first have been `unknown`), and the last one says what the annotations say.
        reported = [(e["reason"], e["message"]) for e in events]
        assert len(reported) == len(set(reported)), (name, reported)
        assert all(e.get("count", 1) == 1 for e in events), (name, events)
        assert events[-1]["reason"] == "TFGuardVerified", (name, reported)
        assert after[name]["tfguard.io/verdict"] == "compatible"
    for name in first:
        assert [e["reason"] for e in tfguard_events(cp, namespace, name)] == before_events[name]
    stacks = [s for s in cp.get("imagestacks")["items"]
              if s["spec"]["imageDigest"] == digest and s["spec"].get("observedIn") == namespace]
    assert len(stacks) == 1
    assert len(cp.get("modelprofiles", namespace=namespace)["items"]) == 1
    lease = cp.get("lease", "tfguard-operator", leader.namespace)
    assert lease["spec"]["holderIdentity"] and lease["spec"].get("leaseTransitions", 0) >= 1
