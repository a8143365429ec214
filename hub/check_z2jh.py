"""Checks hub/z2jh-values.yaml and hub/z2jh-volumes.yaml as far as this machine can (no Kubernetes here): both
parse as YAML, the hub's extra configuration compiles as Python, the init containers use the servers' image and
mount only volumes the pods have, and the exchange is mounted where nbgrader_config.py puts it. hub/smoke-hub.sh
runs it inside the course image (PyYAML comes with Jupyter):

    python3 hub/check_z2jh.py [HUB_FOLDER]
"""
import os
import sys

import yaml

hub = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(hub, "z2jh-values.yaml")) as f:
    values = yaml.safe_load(f)
with open(os.path.join(hub, "z2jh-volumes.yaml")) as f:
    claims = {d["metadata"]["name"] for d in yaml.safe_load_all(f) if d["kind"] == "PersistentVolumeClaim"}
user = values["singleuser"]
for name, code in values["hub"]["extraConfig"].items():
    compile(code, f"hub.extraConfig.{name}", "exec")
    for claim in claims:
        if f'"{claim}"' in code:
            print(f"hub/check_z2jh: hub.extraConfig.{name} mounts the claim {claim}")
image = f'{user["image"]["name"]}:{user["image"]["tag"]}'
volumes = {user["storage"]["dynamic"]["volumeNameTemplate"]}
for v in user["storage"]["extraVolumes"]:
    assert v["persistentVolumeClaim"]["claimName"] in claims, f"{v['name']}: no such claim in z2jh-volumes.yaml"
    volumes.add(v["name"])
for ic in user["initContainers"]:
    assert ic["image"] == image, f"init container {ic['name']} runs {ic['image']}, the servers run {image}"
    for m in ic["volumeMounts"]:
        assert m["name"] in volumes, f"init container {ic['name']} mounts {m['name']}, not a volume of the pod"
with open(os.path.join(hub, "nbgrader_config.py")) as f:
    exchange = next(line.split("=")[1].strip().strip('"') for line in f if line.startswith("c.Exchange.root"))
assert any(m["mountPath"] == exchange for m in user["storage"]["extraVolumeMounts"]), f"no volume at {exchange}"
profiles = [p["display_name"] for p in user["profileList"]]
print(f"hub/check_z2jh: z2jh-values.yaml and z2jh-volumes.yaml parse; image {image}; profiles {profiles}; "
      f"exchange at {exchange}; claims {sorted(claims)}")
