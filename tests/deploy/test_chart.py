"""The Helm chart: lint-clean, valid against the Kubernetes schemas, and safe by default.

These render the chart with the pinned helm; they need no cluster. tests/e2e installs it for real.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import kubernetes_validate
import pytest


KUBERNETES = "1.37.0"
CHART = Path(__file__).resolve().parents[2] / "charts" / "tfguard"

EXTERNAL = ("webhook.external.url=https://127.0.0.1:8443", "webhook.external.caBundle=Q0EK", "operator.enabled=false")
VARIANTS = {
    "defaults": (),
    "external-webhook": EXTERNAL,
    "fail-closed": ("webhook.failurePolicy=Fail", "webhook.defaultMode=enforce"),
    "scoped": (
        "webhook.namespaceSelector.matchLabels.team=ml",
        "webhook.objectSelector.matchLabels.serving=tf",
        "webhook.excludedNamespaces={monitoring,istio-system}",
        "webhook.onlyAnnotated=false",
    ),
    "own-certificate": ("webhook.certificate.managedByOperator=false", "webhook.certificate.caBundle=Q0EK",
                        "image.digest=sha256:" + "a" * 64),
    "locked-down": ("networkPolicy.enabled=true", "metrics.port=9090", "trust.namespaces={ml-platform}",
                    "networkPolicy.apiServer.cidrs={10.0.0.1/32}",
                    "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring"),
}


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def one(objects, kind):
    (found,) = by_kind(objects, kind)
    return found


def webhooks(objects):
    return [w for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
            for o in by_kind(objects, kind) for w in o["webhooks"]]


@pytest.mark.parametrize("variant", VARIANTS)
def test_helm_lint_is_clean(helm, render, variant):
    args = [str(helm), "lint", "--strict", str(CHART), "--namespace", "tfguard-system"]
    for item in VARIANTS[variant]:
        args += ["--set", item]
    done = subprocess.run(args, capture_output=True, text=True, env=render.env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[ERROR]" not in done.stdout and "[WARNING]" not in done.stdout


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_manifests_validate_against_the_kubernetes_schemas(render, variant):
    objects = render(*VARIANTS[variant])
    assert objects
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES, strict=True)


def test_servicemonitor_is_optional(render):
    assert not by_kind(render(), "ServiceMonitor")
    monitor = one(render("metrics.serviceMonitor.enabled=true"), "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["scheme"] == "https"


def test_admission_is_fail_open_bounded_and_side_effect_free_by_default(render):
    hooks = webhooks(render())
    assert len(hooks) == 8  # validate and mutate, for enforce / warn / audit / unlabelled namespaces
    for hook in hooks:
        assert hook["failurePolicy"] == "Ignore"
        assert hook["timeoutSeconds"] <= 5
        assert hook["sideEffects"] == "None"
        assert hook["admissionReviewVersions"] == ["v1"]


def test_fail_closed_is_opt_in_and_never_applies_to_probe_injection(render):
    objects = render("webhook.failurePolicy=Fail")
    assert {w["failurePolicy"] for w in one(objects, "ValidatingWebhookConfiguration")["webhooks"]} == {"Fail"}
    assert {w["failurePolicy"] for w in one(objects, "MutatingWebhookConfiguration")["webhooks"]} == {"Ignore"}


def test_kube_system_and_the_release_namespace_are_always_excluded(render):
    for hook in webhooks(render("webhook.excludedNamespaces={monitoring}", namespace="ml-platform")):
        (names,) = [e for e in hook["namespaceSelector"]["matchExpressions"] if e["key"] == "kubernetes.io/metadata.name"]
        assert names["operator"] == "NotIn"
        assert {"kube-system", "ml-platform", "monitoring"} <= set(names["values"])


def test_each_mode_has_its_own_entry_and_path(render):
    hooks = {w["name"]: w for w in webhooks(render("webhook.defaultMode=audit"))}
    for mode in ("enforce", "warn", "audit"):
        hook = hooks[f"{mode}.validate.tfguard.io"]
        assert hook["clientConfig"]["service"]["path"] == f"/validate/{mode}"
        assert {"key": "tfguard.io/mode", "operator": "In", "values": [mode]} in hook["namespaceSelector"]["matchExpressions"]
    unlabelled = hooks["default.validate.tfguard.io"]
    assert unlabelled["clientConfig"]["service"]["path"] == "/validate/audit"
    assert {"key": "tfguard.io/mode", "operator": "NotIn", "values": ["enforce", "warn", "audit"]} in (
        unlabelled["namespaceSelector"]["matchExpressions"]
    )
    assert hooks["warn.mutate.tfguard.io"]["clientConfig"]["service"]["path"] == "/mutate/warn"


def test_only_annotated_objects_reach_the_webhook_by_default(render):
    for hook in webhooks(render()):
        (condition,) = [c for c in hook["matchConditions"] if c["name"] == "has-tfguard-annotations"]
        assert "tfguard.io/" in condition["expression"]
    validating = one(render(), "ValidatingWebhookConfiguration")["webhooks"][0]
    names = [c["name"] for c in validating["matchConditions"]]
    assert names == ["not-a-controllers-pod", "has-tfguard-annotations", "not-tfguard-operator"]
    assert "system:serviceaccount:tfguard-system:tfguard-operator" in validating["matchConditions"][2]["expression"]
    everything = webhooks(render("webhook.onlyAnnotated=false", "operator.enabled=false"))
    assert all("matchConditions" not in w for w in everything if w["name"].endswith(".mutate.tfguard.io"))
    assert all([c["name"] for c in w["matchConditions"]] == ["not-a-controllers-pod"]
               for w in everything if w["name"].endswith(".validate.tfguard.io"))


def test_pods_a_controller_made_are_not_sent_to_the_validating_webhook(render):
    (condition,) = [c for c in one(render(), "ValidatingWebhookConfiguration")["webhooks"][0]["matchConditions"]
                    if c["name"] == "not-a-controllers-pod"]
    assert condition["expression"].startswith("!(request.kind.kind == 'Pod'")
    assert "ownerReferences.exists(r, has(r.controller) && r.controller)" in condition["expression"]


def test_user_selectors_are_added_to_every_entry(render):
    for hook in webhooks(render(*VARIANTS["scoped"])):
        assert hook["namespaceSelector"]["matchLabels"] == {"team": "ml"}
        assert hook["objectSelector"] == {"matchLabels": {"serving": "tf"}}


def test_probe_injection_reinvokes_if_needed(render):
    for hook in one(render(), "MutatingWebhookConfiguration")["webhooks"]:
        assert hook["reinvocationPolicy"] == "IfNeeded"
        assert hook["rules"] == [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"],
                                  "operations": ["CREATE"], "scope": "Namespaced"}]
    assert not by_kind(render("probe.inject=false"), "MutatingWebhookConfiguration")


def test_external_webhook_url_replaces_the_in_cluster_webhook(render):
    objects = render(*EXTERNAL)
    for hook in webhooks(objects):
        config = hook["clientConfig"]
        assert "service" not in config
        assert config["caBundle"] == "Q0EK"
        endpoint = "validate" if ".validate." in hook["name"] else "mutate"
        assert config["url"].startswith(f"https://127.0.0.1:8443/{endpoint}/")
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("Deployment", "tfguard-webhook") not in names
    assert ("Service", "tfguard-webhook") not in names
    assert not by_kind(objects, "Deployment")  # and the operator runs outside too


def test_webhook_configurations_carry_the_label_the_operator_injects_the_ca_by(render):
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        labels = one(render(), kind)["metadata"]["labels"]
        assert labels["tfguard.io/webhook-configuration"] == "tfguard"


def test_webhook_is_highly_available_and_never_blocks_a_drain(render):
    objects = render()
    deployment = [d for d in by_kind(objects, "Deployment") if d["metadata"]["name"] == "tfguard-webhook"][0]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    (pdb,) = [p for p in by_kind(objects, "PodDisruptionBudget") if p["metadata"]["name"] == "tfguard-webhook"]
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    (tls,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "tls"]
    assert tls["secret"]["secretName"] == "tfguard-webhook-tls"
    # The chart creates that Secret empty: naming the keys holds the container until the operator
    # has written the pair, so the server never starts without it (and restarts).
    assert {item["key"] for item in tls["secret"]["items"]} == {"tls.crt", "tls.key"}


def test_the_service_selects_the_webhook_pods(render):
    objects = render()
    service = [s for s in by_kind(objects, "Service") if s["metadata"]["name"] == "tfguard-webhook"][0]
    deployment = [d for d in by_kind(objects, "Deployment") if d["metadata"]["name"] == "tfguard-webhook"][0]
    assert service["spec"]["selector"] == deployment["spec"]["template"]["metadata"]["labels"] | service["spec"]["selector"]
    assert service["spec"]["ports"][0]["targetPort"] == "https"


def test_every_pod_runs_hardened(render):
    for deployment in by_kind(render(), "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]


def test_webhook_reads_only_what_it_caches(render):
    role = [r for r in by_kind(render(), "ClusterRole") if r["metadata"]["name"] == "tfguard-webhook"][0]
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}
    resources = {res for rule in role["rules"] for res in rule["resources"]}
    # nodes: their GPU/CPU labels; KServe's runtimes: an InferenceService's image (all read-only)
    assert resources == {"imagestacks", "modelprofiles", "nodes", "servingruntimes", "clusterservingruntimes"}
    off = [r for r in by_kind(render("kserve.enabled=false"), "ClusterRole")
           if r["metadata"]["name"] == "tfguard-webhook"][0]
    assert {res for rule in off["rules"] for res in rule["resources"]} == {"imagestacks", "modelprofiles", "nodes"}


def _operator(objects):
    role = [r for r in by_kind(objects, "ClusterRole") if r["metadata"]["name"] == "tfguard-operator"][0]
    verbs = {}
    for rule in role["rules"]:
        if "serving.kserve.io" in rule["apiGroups"]:
            for resource in rule["resources"]:
                verbs[resource] = set(rule["verbs"])
    deployment = [d for d in by_kind(objects, "Deployment") if d["metadata"]["name"] == "tfguard-operator"][0]
    return verbs, deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def test_the_operator_reads_kserve_and_patches_inference_services_only_when_it_annotates_them(render):
    verbs, args = _operator(render())
    assert verbs == {"inferenceservices": {"list", "watch"}, "servingruntimes": {"list", "watch"},
                     "clusterservingruntimes": {"list", "watch"}}
    assert "--no-kserve" not in args and "--annotate-inference-services" not in args
    vap = [p for p in by_kind(render(), "ValidatingAdmissionPolicy") if p["metadata"]["name"].endswith("workload-writes")]
    assert [r["resources"] for r in vap[0]["spec"]["matchConstraints"]["resourceRules"]] == [
        ["deployments", "statefulsets", "daemonsets"]]
    annotating = render("kserve.annotateInferenceServices=true")
    verbs, args = _operator(annotating)
    assert verbs["inferenceservices"] == {"list", "watch", "patch"}
    assert "--annotate-inference-services" in args
    # the admission policy that narrows the operator's patches to tfguard's annotations covers them too
    vap = [p for p in by_kind(annotating, "ValidatingAdmissionPolicy") if p["metadata"]["name"].endswith("workload-writes")]
    assert ["inferenceservices"] in [r["resources"] for r in vap[0]["spec"]["matchConstraints"]["resourceRules"]]
    verbs, args = _operator(render("kserve.enabled=false"))
    assert verbs == {} and "--no-kserve" in args


def test_prometheus_can_scrape_the_webhook(render):
    deployment = [d for d in by_kind(render(), "Deployment") if d["metadata"]["name"] == "tfguard-webhook"][0]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"


def test_probe_image_reaches_the_webhook(render):
    deployment = [d for d in by_kind(render("probe.image.tag=1.2.3"), "Deployment") if d["metadata"]["name"] == "tfguard-webhook"][0]
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TFGUARD_PROBE_IMAGE"] == "tfguard/probe:1.2.3"
    operator = [d for d in by_kind(render("probe.image.tag=1.2.3"), "Deployment") if d["metadata"]["name"] == "tfguard-operator"][0]
    env = {e["name"]: e.get("value") for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TFGUARD_PROBE_IMAGE"] == "tfguard/probe:1.2.3"  # the operator takes reports only from that probe


def test_the_crds_are_shipped_in_the_crds_directory(render):
    crds = {o["metadata"]["name"] for o in by_kind(render(), "CustomResourceDefinition")}
    assert {"imagestacks.tfguard.io", "modelprofiles.tfguard.io"} <= crds


@pytest.mark.parametrize(
    "bad",
    ["webhook.failurePolicy=fail", "webhook.defaultMode=strict", "webhook.timeoutSeconds=60",
     "webhook.external.url=http://127.0.0.1:8443", "webhook.replicas=two", "webhook.surprise=1"],
)
def test_schema_rejects_bad_values_before_anything_reaches_the_cluster(render, bad):
    done = render(bad, check=False)
    assert done.returncode != 0
    assert "schema" in done.stderr.lower() or "values" in done.stderr.lower()


def test_notes_tell_the_user_how_to_see_tfguard_working(helm, render):
    done = subprocess.run(
        [str(helm), "install", "tfguard", str(CHART), "--dry-run=client", "-n", "tfguard-system"],
        capture_output=True, text=True, env=render.env,
    )
    assert done.returncode == 0, done.stderr
    assert "kubectl describe deployment" in done.stdout
    assert "tfguard.io/mode=enforce" in done.stdout


@pytest.mark.parametrize("release", ["tfguard", "ml"])
def test_the_operator_is_pointed_at_exactly_what_its_rbac_allows(render, release):
    objects = render(release=release, namespace="tfguard-system")
    operator = [d for d in by_kind(objects, "Deployment") if d["metadata"]["name"].endswith("-operator")][0]
    pod = operator["spec"]["template"]["spec"]
    args = dict(a[2:].split("=", 1) for a in pod["containers"][0]["args"] if a.startswith("--") and "=" in a)
    namespace = [e for e in pod["containers"][0]["env"] if e["name"] == "TFGUARD_NAMESPACE"][0]
    assert namespace["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"  # the release's, where its Role is

    role = [r for r in by_kind(objects, "Role") if r["metadata"]["name"] == operator["metadata"]["name"]][0]
    named = {(rule["resources"][0], name) for rule in role["rules"] for name in rule.get("resourceNames", [])}
    assert ("secrets", args["cert-secret"]) in named
    assert ("leases", args["lease-name"]) in named

    cluster_role = [r for r in by_kind(objects, "ClusterRole") if r["metadata"]["name"] == operator["metadata"]["name"]][0]
    patchable = {name for rule in cluster_role["rules"] if "patch" in rule["verbs"] for name in rule.get("resourceNames", [])}
    label, value = args["webhook-selector"].split("=")
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        config = one(objects, kind)
        assert config["metadata"]["labels"][label] == value
        assert config["metadata"]["name"] in patchable

    service = [s for s in by_kind(objects, "Service") if s["metadata"]["name"] == args["webhook-service"]]
    assert service, "the certificate would not name the webhook Service"
    binding = [b for b in by_kind(objects, "ClusterRoleBinding") if b["roleRef"]["name"] == cluster_role["metadata"]["name"]][0]
    assert binding["subjects"][0]["name"] == pod["serviceAccountName"]
    skip_operator = one(objects, "ValidatingWebhookConfiguration")["webhooks"][0]["matchConditions"][-1]
    assert f"system:serviceaccount:tfguard-system:{pod['serviceAccountName']}'" in skip_operator["expression"]


def container_of(objects, name):
    deployment = [d for d in by_kind(objects, "Deployment") if d["metadata"]["name"] == name][0]
    return deployment["spec"]["template"]["spec"]["containers"][0]


def _environment(container, namespace="tfguard-system"):
    env = {e["name"]: e.get("value") for e in container["env"] if "value" in e}
    for e in container["env"]:
        if (e.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath") == "metadata.namespace":
            env[e["name"]] = namespace
    return env


def _names(cls):
    from tfguard.settings import env_name, fields

    return {env_name(cls, f) for f in fields(cls)}


def test_the_webhook_pod_settings_are_ones_the_webhook_reads(render):
    """Every TFGUARD_* variable the chart sets is one of the webhook's settings, and the values parse."""
    from tfguard.settings import from_sources
    from tfguard.webhook.settings import WebhookSettings

    container = container_of(render("webhook.defaultMode=enforce", "webhook.excludedNamespaces={batch}"), "tfguard-webhook")
    assert container["args"] == ["webhook", "serve"]
    env = _environment(container)
    assert {n for n in env if n.startswith("TFGUARD_")} <= _names(WebhookSettings)
    settings = from_sources(WebhookSettings, environ=env)
    assert settings.default_mode == "enforce"
    assert settings.port == 8443
    assert all(settings.is_excluded(ns) for ns in ("kube-system", "tfguard-system", "batch"))
    assert settings.cert_file.startswith("/etc/tfguard/tls/")


def test_the_operator_accepts_the_chart_arguments_and_leaves_the_same_namespaces_alone(render):
    from tfguard.cli import build_parser
    from tfguard.operator.settings import OperatorSettings
    from tfguard.settings import from_sources

    for sets in ((), ("webhook.certificate.managedByOperator=false",)):
        container = container_of(render("webhook.excludedNamespaces={batch}", *sets), "tfguard-operator")
        env = _environment(container)
        assert {n for n in env if n.startswith("TFGUARD_")} <= _names(OperatorSettings)
        settings = from_sources(OperatorSettings, build_parser().parse_args(container["args"]), env)
        assert settings.namespace == "tfguard-system"
        assert settings.manage_certificates is (not sets)
        assert not any(settings.watches_namespace(ns) for ns in ("kube-system", "tfguard-system", "batch"))
        assert settings.watches_namespace("ml")


def test_the_probe_image_holds_probe_py_where_the_webhook_copies_it_from():
    from tfguard.webhook.settings import WebhookSettings

    source = WebhookSettings().probe_install_command[-2]
    dockerfile = (CHART.parents[1] / "Dockerfile").read_text()
    assert f"tfguard/probes/probe.py {source}" in dockerfile


def test_every_way_to_a_pod_is_sent_to_validate(render):
    hook = one(render(), "ValidatingWebhookConfiguration")["webhooks"][0]
    resources = {(g, r) for rule in hook["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert resources - {("serving.kserve.io", "inferenceservices")} == {
        ("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("apps", "replicasets"),
        ("batch", "jobs"), ("batch", "cronjobs"), ("", "pods"), ("", "replicationcontrollers")}
    assert all(rule["operations"] == ["CREATE", "UPDATE"] for rule in hook["rules"])
    from tfguard.workload.templates import TEMPLATE_PATHS

    assert {r for g, r in resources if g != "serving.kserve.io"} == {k.lower() + "s" for k in TEMPLATE_PATHS}
    annotated = [c for c in hook["matchConditions"] if c["name"] == "has-tfguard-annotations"][0]["expression"]
    assert "object.spec.jobTemplate.metadata.annotations" in annotated


def test_the_operator_has_a_disruption_budget_and_may_have_a_priority_class(render):
    objects = render("operator.priorityClassName=system-cluster-critical")
    (pdb,) = [p for p in by_kind(objects, "PodDisruptionBudget") if p["metadata"]["name"] == "tfguard-operator"]
    assert pdb["spec"]["maxUnavailable"] == 1
    operator = [d for d in by_kind(objects, "Deployment") if d["metadata"]["name"] == "tfguard-operator"][0]
    assert pdb["spec"]["selector"]["matchLabels"] == operator["spec"]["selector"]["matchLabels"]
    assert operator["spec"]["template"]["spec"]["priorityClassName"] == "system-cluster-critical"


def test_the_chart_creates_the_operators_secrets_so_it_needs_no_create(render):
    objects = render()
    secrets = {s["metadata"]["name"]: s for s in by_kind(objects, "Secret")}
    assert set(secrets) == {"tfguard-webhook-tls", "tfguard-webhook-tls-ca"}
    assert all("data" not in s and s["type"] == "Opaque" for s in secrets.values())  # helm upgrades keep what the operator wrote
    role = [r for r in by_kind(objects, "Role") if r["metadata"]["name"] == "tfguard-operator"][0]
    for rule in role["rules"]:
        if "secrets" in rule["resources"]:
            assert "create" not in rule["verbs"] and set(rule["resourceNames"]) == set(secrets)
    assert not by_kind(render("webhook.certificate.managedByOperator=false", "webhook.certificate.caBundle=Q0EK"), "Secret")


def test_the_operators_writes_are_narrowed_by_admission_policies(render):
    from tfguard import annotations as A
    from tfguard.operator.annotate import WRITTEN

    objects = render()
    policies = {p["metadata"]["name"]: p for p in by_kind(objects, "ValidatingAdmissionPolicy")}
    assert set(policies) == {"tfguard-operator-workload-writes", "tfguard-operator-webhook-writes"}
    for policy in policies.values():
        (condition,) = policy["spec"]["matchConditions"]
        assert "system:serviceaccount:tfguard-system:tfguard-operator'" in condition["expression"]
        assert policy["spec"]["failurePolicy"] == "Fail"  # only the operator's own requests match
    bindings = {b["spec"]["policyName"]: b for b in by_kind(objects, "ValidatingAdmissionPolicyBinding")}
    assert set(bindings) == set(policies) and all(b["spec"]["validationActions"] == ["Deny"] for b in bindings.values())
    written = [v for v in policies["tfguard-operator-workload-writes"]["spec"]["variables"] if v["name"] == "written"][0]
    assert set(eval(written["expression"])) == {*WRITTEN, A.CHECKED_AT}  # the operator writes exactly these
    assert not by_kind(render("operator.restrictWrites=false"), "ValidatingAdmissionPolicy")


def test_the_network_policy_is_off_by_default_and_opens_only_the_webhooks_ports(render):
    assert not by_kind(render(), "NetworkPolicy")
    (policy,) = by_kind(render(*VARIANTS["locked-down"]), "NetworkPolicy")
    ingress = policy["spec"]["ingress"]
    assert [rule["ports"][0]["port"] for rule in ingress] == ["https", "metrics"]
    assert "from" not in ingress[0]  # the API server's address is not in the pod network
    assert ingress[1]["from"] == [{"namespaceSelector": {"matchLabels": {"team": "monitoring"}}}]
    (egress,) = policy["spec"]["egress"]
    assert egress["to"] == [{"ipBlock": {"cidr": "10.0.0.1/32"}}]
    assert {p["port"] for p in egress["ports"]} == {443, 6443}


def test_metrics_can_have_a_port_of_their_own(render):
    deployment = [d for d in by_kind(render("metrics.port=9090"), "Deployment") if d["metadata"]["name"] == "tfguard-webhook"][0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "metrics", "containerPort": 9090, "protocol": "TCP"} in container["ports"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TFGUARD_WEBHOOK_METRICS_PORT"] == "9090"
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == "9090" and annotations["prometheus.io/scheme"] == "http"


def test_both_processes_trust_the_same_namespaces(render):
    from tfguard.operator.settings import OperatorSettings
    from tfguard.settings import from_sources
    from tfguard.webhook.settings import WebhookSettings

    objects = render("trust.namespaces={ml-platform,shared}")
    for name, cls in (("tfguard-webhook", WebhookSettings), ("tfguard-operator", OperatorSettings)):
        env = _environment(container_of(objects, name))
        assert from_sources(cls, environ=env).trusted_namespaces == ("ml-platform", "shared")
    default = _environment(container_of(render(), "tfguard-webhook"))
    assert from_sources(WebhookSettings, environ=default).trusted_namespaces == ()
