"""Which nodes a pod template can be scheduled on, from Node objects with real GFD/NFD label sets."""

from __future__ import annotations

import sys

from gfd import CPUID_NO_AVX, gpu_node, nfd_labels, node

from tfguard.workload.nodes import NodeStore, gpu_facts, scheduling_key

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


def store_of(*nodes) -> NodeStore:
    store = NodeStore()
    store.apply("LISTED", {"items": list(nodes)})
    return store


def pod(gpus: int = 0, **spec) -> dict:
    container = {"name": "serve", "image": "tensorflow/tensorflow:2.15.0-gpu"}
    if gpus:
        container["resources"] = {"limits": {"nvidia.com/gpu": str(gpus)}}
    return {"containers": [container], **spec}


def names(groups) -> list[str]:
    return sorted(n for g in groups for n in g.names)


def test_reads_the_gfd_and_nfd_labels():
    facts = gpu_facts(gpu_node("a", driver="535.104.05", compute="8.0")["metadata"]["labels"])
    assert facts["driver_version"] == "535.104.05" and facts["cuda_driver_version"] == "12.2"
    assert facts["compute_capability"] == "8.0" and facts["gpu_product"] == "NVIDIA-A100-SXM4-40GB"
    assert facts["gpu_family"] == "ampere" and facts["arch"] == "amd64"
    assert "AVX" in facts["cpu_flags"] and "AVX512F" in facts["cpu_flags"]


def test_reads_the_deprecated_driver_labels_too():
    facts = gpu_facts(gpu_node("a", driver="470.82.01", cuda="11.4", deprecated=True)["metadata"]["labels"])
    assert (facts["driver_version"], facts["cuda_driver_version"]) == ("470.82.01", "11.4")


def test_a_node_without_nfd_labels_has_unknown_cpu_flags():
    assert gpu_facts({"kubernetes.io/arch": "amd64"})["cpu_flags"] is None
    assert gpu_facts(nfd_labels(CPUID_NO_AVX))["cpu_flags"] == []


def test_a_gpu_request_only_lands_on_nodes_with_allocatable_gpus():
    store = store_of(gpu_node("gpu-1"), node("cpu-1", nfd_labels()))
    assert names(store.candidates(pod(gpus=1))) == ["gpu-1"]
    assert names(store.candidates(pod())) == ["cpu-1", "gpu-1"]
    assert store.candidates(pod(gpus=9)) == []  # no node has 9


def test_mig_resources_are_matched_by_name():
    mig = node("mig-1", gpu_node("x", mig="mixed")["metadata"]["labels"], resources={"nvidia.com/mig-1g.5gb": "14"})
    store = store_of(mig, gpu_node("gpu-1"))
    spec = {"containers": [{"name": "s", "resources": {"limits": {"nvidia.com/mig-1g.5gb": "1"}}}]}
    groups = store.candidates(spec)
    assert names(groups) == ["mig-1"] and groups[0].mig_strategy == "mixed"


def test_taints_need_tolerations():
    store = store_of(gpu_node("tainted", taints=[GPU_TAINT]), gpu_node("open"))
    assert names(store.candidates(pod(gpus=1))) == ["open"]
    tolerated = pod(gpus=1, tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    assert names(store.candidates(tolerated)) == ["open", "tainted"]
    wrong_value = pod(gpus=1, tolerations=[{"key": "nvidia.com/gpu", "operator": "Equal", "value": "absent"}])
    assert names(store.candidates(wrong_value)) == ["open"]
    everything = pod(gpus=1, tolerations=[{"operator": "Exists"}])
    assert names(store.candidates(everything)) == ["open", "tainted"]


def test_prefer_no_schedule_taints_do_not_keep_a_pod_off():
    store = store_of(gpu_node("soft", taints=[{"key": "k", "value": "v", "effect": "PreferNoSchedule"}]))
    assert names(store.candidates(pod(gpus=1))) == ["soft"]


def test_cordoned_nodes_are_no_candidates():
    store = store_of(node("cordoned", nfd_labels(), unschedulable=True), node("up", nfd_labels()))
    assert names(store.candidates(pod())) == ["up"]


def test_node_selector_and_required_affinity():
    store = store_of(gpu_node("a100", compute="8.0"), gpu_node("h100", compute="9.0", product="NVIDIA-H100-80GB-HBM3",
                                                              family="hopper"))
    by_selector = pod(gpus=1, nodeSelector={"nvidia.com/gpu.family": "hopper"})
    assert names(store.candidates(by_selector)) == ["h100"]
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "nvidia.com/gpu.compute.major", "operator": "Lt", "values": ["9"]}]}]}}}
    assert names(store.candidates(pod(gpus=1, affinity=affinity))) == ["a100"]
    by_name = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["h100"]}]},
        {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "DoesNotExist"}]}]}}}
    assert names(store.candidates(pod(gpus=1, affinity=by_name))) == ["h100"]
    assert names(store.candidates(pod(gpus=1, nodeSelector={"kubernetes.io/hostname": "a100"}))) == ["a100"]
    assert names(store.candidates(pod(gpus=1, nodeName="h100"))) == ["h100"]


def test_an_empty_affinity_term_matches_no_node():
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{}]}}}
    assert store_of(gpu_node("a")).candidates(pod(affinity=affinity)) == []


def test_candidates_are_grouped_by_their_facts():
    store = store_of(*(gpu_node(f"pool-a-{i}") for i in range(5)), gpu_node("pool-b-0", driver="470.82.01", cuda="11.4"))
    groups = store.candidates(pod(gpus=1))
    assert [(g.count, g.driver_version) for g in groups] == [(5, "535.104.05"), (1, "470.82.01")]
    assert groups[0].names == [f"pool-a-{i}" for i in range(5)]


def test_a_pool_of_a_thousand_nodes_is_one_labels_dict_and_a_name_each():
    store = store_of(*(gpu_node(f"n{i:04d}") for i in range(1000)))
    assert len(store) == 1000 and store.pools == 1
    pool = next(iter(store._pools.values()))
    per_node = sys.getsizeof(pool.members) / 1000 + sys.getsizeof({"kubernetes.io/hostname": "n0000"})
    assert per_node < 600  # bytes: the labels are held once for the whole pool


def test_status_heartbeats_change_nothing():
    n = gpu_node("a")
    store = store_of(n)
    before = store.generation
    beat = {**n, "status": {**n["status"], "conditions": [{"type": "Ready", "lastHeartbeatTime": "now"}]}}
    store.apply("MODIFIED", beat)
    assert store.generation == before
    upgraded = gpu_node("a", driver="550.54.15", cuda="12.4")
    store.apply("MODIFIED", upgraded)
    assert store.generation > before and store.candidates(pod())[0].driver_version == "550.54.15"


def test_nodes_are_not_known_until_listed_and_past_the_bound():
    store = NodeStore(max_nodes=2)
    assert store.candidates(pod()) is None  # not listed yet
    store.apply("LISTED", {"items": []})
    assert store.candidates(pod()) is None  # a cluster without Nodes says nothing
    store.apply("LISTED", {"items": [gpu_node("a"), gpu_node("b"), gpu_node("c")]})
    assert store.overflow and store.candidates(pod()) is None
    store.apply("DELETED", gpu_node("c"))
    store.apply("LISTED", {"items": [gpu_node("a"), gpu_node("b")]})
    assert names(store.candidates(pod())) == ["a", "b"]


def test_malformed_nodes_and_templates_never_raise():
    store = store_of(gpu_node("a"), {"metadata": {"name": "x", "labels": "nope"}}, {"metadata": {}}, {})
    assert names(store.candidates(pod())) == ["a"]
    assert store.candidates({"containers": "nope", "tolerations": [1, None], "nodeSelector": {}}) is not None
    assert store.candidates({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "Gt", "values": ["x"]}]}]}}}}) == []


def test_the_memo_key_follows_the_scheduling_constraints_and_the_nodes():
    store = store_of(gpu_node("a"))
    one = scheduling_key(pod(gpus=1), store)
    assert one == scheduling_key(pod(gpus=1), store)
    assert one != scheduling_key(pod(gpus=1, nodeSelector={"x": "y"}), store)
    store.apply("ADDED", gpu_node("b"))
    assert one != scheduling_key(pod(gpus=1), store)
