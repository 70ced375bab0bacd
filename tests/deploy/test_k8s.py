"""deploy/k8s, checked without a cluster: every manifest parses and uses current API versions, the
Deployment probes paths the gateway answers, the ConfigMap's config loads, the Secret reaches the
config, and the pod's grace period outlasts sseguard's own drain."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_files import K8S, ROOT, gateway_status, read_dockerfile

from sseguard.config import load_config
from sseguard.gateway.app import SHUTDOWN_ENDING_TIMEOUT
from sseguard.gateway.serve import open_refusal

CURRENT = {
    "Deployment": "apps/v1",
    "Service": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
}


def _manifests() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert len(docs) == 1, path.name
        assert docs[0]["kind"] not in out, f"two {docs[0]['kind']}s"
        out[docs[0]["kind"]] = docs[0]
    return out


MANIFESTS = _manifests()
DEPLOYMENT = MANIFESTS["Deployment"]
POD = DEPLOYMENT["spec"]["template"]["spec"]
(CONTAINER,) = POD["containers"]
RUNTIME = read_dockerfile(ROOT / "Dockerfile").stages[-1]


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ConfigMap's config as the container loads it, with the Secret's variable set."""
    for name in MANIFESTS["Secret"]["stringData"]:
        monkeypatch.setenv(name, "test-key")
    path = tmp_path / "config.yaml"
    path.write_text(MANIFESTS["ConfigMap"]["data"]["config.yaml"])
    return load_config(path)


def test_every_kind_is_there_with_its_current_api_version() -> None:
    assert {kind: m["apiVersion"] for kind, m in MANIFESTS.items()} == CURRENT
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    files = [p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"]
    assert sorted(listed) == sorted(files)  # `kubectl apply -k` applies every manifest


def test_selectors_and_references_agree() -> None:
    labels = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]
    assert DEPLOYMENT["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert MANIFESTS["Service"]["spec"]["selector"].items() <= labels.items()
    pdb = MANIFESTS["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]
    assert pdb.items() <= labels.items()
    assert (
        MANIFESTS["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    )
    target = MANIFESTS["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", DEPLOYMENT["metadata"]["name"])
    assert DEPLOYMENT["spec"]["replicas"] == 2
    assert MANIFESTS["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2
    (port,) = CONTAINER["ports"]
    assert str(port["containerPort"]) == RUNTIME.last("EXPOSE")
    assert MANIFESTS["Service"]["spec"]["ports"][0]["targetPort"] == port["name"]
    assert MANIFESTS["Service"]["spec"]["type"] == "ClusterIP"


def test_non_root_read_only_with_writable_state_and_bounded_resources() -> None:
    uid = int(RUNTIME.last("USER").split(":")[0])
    pod = POD["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == uid
    own = CONTAINER["securityContext"]
    assert own["readOnlyRootFilesystem"] is True
    assert own["allowPrivilegeEscalation"] is False and own["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in CONTAINER["volumeMounts"]}
    volumes = {v["name"]: v for v in POD["volumes"]}
    env = " ".join(RUNTIME.all("ENV"))
    state_dir = env.split("SSEGUARD_STATE_DIR=")[1].split()[0]
    assert "emptyDir" in volumes[mounts[state_dir]]
    assert "emptyDir" in volumes[mounts["/tmp"]]
    config_file = env.split("SSEGUARD_CONFIG=")[1].split()[0]
    config_volume = volumes[mounts[str(Path(config_file).parent)]]["configMap"]
    assert config_volume["name"] == MANIFESTS["ConfigMap"]["metadata"]["name"]
    assert config_volume["items"] == [{"key": "config.yaml", "path": Path(config_file).name}]
    for bound in ("requests", "limits"):
        assert set(CONTAINER["resources"][bound]) == {"cpu", "memory"}


def test_the_probes_ask_paths_the_gateway_answers() -> None:
    live = CONTAINER["livenessProbe"]["httpGet"]
    ready = CONTAINER["readinessProbe"]["httpGet"]
    assert (live["path"], ready["path"]) == ("/healthz", "/readyz")
    for probe in (live, ready):
        assert probe["port"] == CONTAINER["ports"][0]["name"]
        assert gateway_status(probe["path"]) == 200


def test_the_config_map_loads_and_the_secret_reaches_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, monkeypatch)
    (deployment,) = config.deployments
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in CONTAINER["env"]}
    ref = env[deployment.api_key_env]
    assert ref["name"] == MANIFESTS["Secret"]["metadata"]["name"]
    assert ref["key"] in MANIFESTS["Secret"]["stringData"]
    # The image listens on 0.0.0.0 with a key of the operator's: only allow_open lets it start.
    opened = config.with_server(host="0.0.0.0", port=8080)
    assert open_refusal(opened) is None
    assert open_refusal(opened.with_server(allow_open=False)) is not None


def test_the_grace_period_outlasts_the_pre_stop_sleep_and_sseguard_s_drain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _config(tmp_path, monkeypatch).server
    command = CONTAINER["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pre_stop = float(command[1])
    needed = pre_stop + server.drain_delay + server.shutdown_grace + SHUTDOWN_ENDING_TIMEOUT
    assert POD["terminationGracePeriodSeconds"] > needed
    # The sleep must outlast the time endpoints take to go (a few seconds), and be no drain
    # of its own: sseguard serves normally during it.
    assert pre_stop >= 5


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_all_of_it() -> None:
    out = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    rendered = [d for d in yaml.safe_load_all(out) if d]
    assert sorted(d["kind"] for d in rendered) == sorted(CURRENT)
