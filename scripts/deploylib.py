#!/usr/bin/env python3
"""The glue of scripts/deploy.sh, rollback.sh and disaster-recovery.sh, kept in one tested
place (tests/tests/e2e/deploy.rs runs each command offline):

  overlay-from-outputs <env> <cloud> <terraform-outputs.json> <overlay dir>
      Writes the overlay's streamhouse.env and deploy.env from `terraform output -json`.
  set-image-tag <overlay dir> <tag>
      Sets both StreamHouse images' tag in the overlay's kustomization.yaml; prints the old one.
  image-tag <overlay dir>
      Prints the agent image's tag in the overlay.
  job-from-statefulset <command> [args...] < statefulset.json > job.json
      A Job running `streamhouse-agent <command>` exactly as the agents run (image, config,
      environment, service account, security context), for rebuild-metadata and migrate.
"""

import json
import pathlib
import re
import sys

HEADER = "# Written by scripts/deploy.sh from `terraform output` of terraform/stacks/{cloud}\n" \
    "# with terraform/environments/{env}/{cloud}. Do not edit by hand.\n"

# overlay file -> variable -> terraform output, per cloud.
OUTPUTS = {
    "aws": {
        "streamhouse.env": {"S3_BUCKET": "bucket_name", "AWS_REGION": "region"},
        "deploy.env": {
            "AWS_REGION": "region",
            "AGENT_ROLE_ARN": "agent_identity",
            "CONTROL_PLANE_ROLE_ARN": "control_plane_identity",
        },
    },
    "gcp": {
        "streamhouse.env": {"STREAMHOUSE_OBJECT_STORE__BUCKET": "bucket_name"},
        "deploy.env": {"PROJECT_ID": "project_id", "AGENT_GSA": "agent_identity"},
    },
    "azure": {
        "streamhouse.env": {
            "STREAMHOUSE_OBJECT_STORE__ACCOUNT": "storage_account",
            "STREAMHOUSE_OBJECT_STORE__CONTAINER": "bucket_name",
        },
        "deploy.env": {"AGENT_CLIENT_ID": "agent_identity", "KEY_VAULT_URL": "key_vault_url"},
    },
}

IMAGES = ("streamhouse-agent", "streamhouse-control-plane")


def fail(message):
    print(f"deploylib: {message}", file=sys.stderr)
    sys.exit(1)


def overlay_from_outputs(env, cloud, outputs_path, overlay):
    if cloud not in OUTPUTS:
        fail(f"unknown cloud {cloud!r}: aws, gcp or azure")
    outputs = json.loads(pathlib.Path(outputs_path).read_text())
    for name, variables in OUTPUTS[cloud].items():
        lines = [HEADER.format(env=env, cloud=cloud)]
        for var, output in variables.items():
            if output not in outputs:
                fail(f"terraform output {output!r} is missing (needed for {var} in {name})")
            value = outputs[output]["value"]
            if not isinstance(value, str) or not value or "\n" in value:
                fail(f"terraform output {output!r} is not a one-line string: {value!r}")
            lines.append(f"{var}={value}\n")
        (pathlib.Path(overlay) / name).write_text("".join(lines))


def tag_lines(text):
    """The (start, end) spans of each StreamHouse image's newTag value."""
    spans = []
    for image in IMAGES:
        m = re.search(
            rf"- name: {re.escape(image)}\n\s+newName: \S+\n\s+newTag: (\S+)", text)
        if not m:
            fail(f"no images entry with newName and newTag for {image}")
        spans.append(m.span(1))
    return spans


def image_tag(overlay):
    text = (pathlib.Path(overlay) / "kustomization.yaml").read_text()
    start, end = tag_lines(text)[0]
    return text[start:end]


def set_image_tag(overlay, tag):
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag):
        fail(f"{tag!r} is not a valid image tag")
    path = pathlib.Path(overlay) / "kustomization.yaml"
    text = path.read_text()
    old = image_tag(overlay)
    for start, end in sorted(tag_lines(text), reverse=True):
        text = text[:start] + tag + text[end:]
    path.write_text(text)
    print(old)


def job_from_statefulset(args):
    sts = json.load(sys.stdin)
    pod = sts["spec"]["template"]
    spec = json.loads(json.dumps(pod["spec"]))
    agents = [c for c in spec["containers"] if c["name"] == "agent"]
    if not agents:
        fail("the StatefulSet has no container named agent")
    agent = agents[0]
    # The agent's own args name its config; the command follows them.
    agent["args"] = list(agent.get("args", [])) + args
    for key in ("ports", "startupProbe", "readinessProbe", "livenessProbe", "lifecycle"):
        agent.pop(key, None)
    spec["containers"] = [agent]
    spec["restartPolicy"] = "Never"
    spec.pop("terminationGracePeriodSeconds", None)
    labels = {"app.kubernetes.io/name": "streamhouse-agent-job",
              "app.kubernetes.io/part-of": "streamhouse"}
    # Keep the workload-identity label (Azure) the agents' pods carry.
    for k, v in pod.get("metadata", {}).get("labels", {}).items():
        if k.startswith("azure.workload.identity"):
            labels[k] = v
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "streamhouse-" + args[0],
            "namespace": sts["metadata"].get("namespace", "streamhouse"),
            "labels": {"app.kubernetes.io/part-of": "streamhouse"},
        },
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 86400,
            "template": {"metadata": {"labels": labels}, "spec": spec},
        },
    }
    json.dump(job, sys.stdout, indent=2)
    print()


def main(argv):
    if len(argv) < 2:
        fail(__doc__)
    cmd, rest = argv[1], argv[2:]
    if cmd == "overlay-from-outputs" and len(rest) == 4:
        overlay_from_outputs(*rest)
    elif cmd == "set-image-tag" and len(rest) == 2:
        set_image_tag(*rest)
    elif cmd == "image-tag" and len(rest) == 1:
        print(image_tag(rest[0]))
    elif cmd == "job-from-statefulset" and rest:
        job_from_statefulset(rest)
    else:
        fail(f"bad usage: {' '.join(argv[1:])}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv)
