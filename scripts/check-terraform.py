#!/usr/bin/env python3
"""Offline checks of terraform/ that `terraform validate` would make if it could download the
providers (it cannot here), plus the project's own rules. Parses every .tf, .tfvars and .hcl
file with python-hcl2, then checks:

- every module (terraform/modules/**, terraform/stacks/*) has main.tf, variables.tf,
  outputs.tf and versions.tf; required_version is set and every provider has a source and a
  version constraint; every variable has a type and a description; every output a description;
- each concern's modules share one output contract across the clouds;
- every `module` block names an existing module, passes only variables it declares and every
  variable it requires, and every `module.<name>.<output>` reference names a declared output;
- every environment (terraform/environments/<env>/<cloud>) holds only terraform.tfvars and
  backend.hcl, sets only the stack's variables and every one the stack requires.

Usage: scripts/check-terraform.py [terraform dir]   (needs python-hcl2; exits 1 on a problem)
"""

import pathlib
import re
import sys

import hcl2

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "terraform")
CLOUDS = ("aws", "gcp", "azure")
CONCERNS = ("network", "cluster", "database", "bucket", "identity")
# The outputs every cloud's module of a concern has, which the stacks rely on.
CONTRACT = {
    "network": {"network_id", "cidr", "public_subnet_ids", "private_subnet_ids", "database_subnet_ids"},
    "cluster": {"cluster_name", "cluster_endpoint", "cluster_ca_certificate"},
    "database": {"endpoint", "reader_endpoint", "port", "database_name", "username", "secret_name"},
    "bucket": {"bucket_name", "bucket_id"},
    "identity": {"agent_identity", "control_plane_identity", "secrets_identity"},
}
REQUIRED_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")

problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def one(value):
    """python-hcl2 wraps attribute values in one-element lists in some versions."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def parse(path):
    try:
        with open(path) as f:
            return hcl2.load(f)
    except Exception as e:  # the parser's errors have no common base class
        problem(path, f"does not parse: {e}")
        return {}


def blocks(doc, kind):
    """(name, body) of each labelled block of `kind` (variable, output, module)."""
    for entry in doc.get(kind, []):
        for name, body in entry.items():
            yield name, body


class Module:
    def __init__(self, path):
        self.path = path
        self.variables = {}
        self.outputs = set()
        self.calls = []
        self.text = ""
        for tf in sorted(path.glob("*.tf")):
            doc = parse(tf)
            self.text += tf.read_text()
            for name, body in blocks(doc, "variable"):
                self.variables[name] = body
                if "type" not in body:
                    problem(tf, f"variable {name} has no type")
                if not one(body.get("description", "")):
                    problem(tf, f"variable {name} has no description")
            for name, body in blocks(doc, "output"):
                self.outputs.add(name)
                if not one(body.get("description", "")):
                    problem(tf, f"output {name} has no description")
            for name, body in blocks(doc, "module"):
                self.calls.append((tf, name, body))
            for t in doc.get("terraform", []):
                self.check_versions(tf, t)
        for f in REQUIRED_FILES:
            if not (path / f).is_file():
                problem(path, f"has no {f}")

    def check_versions(self, tf, block):
        if not one(block.get("required_version", "")):
            problem(tf, "terraform block without required_version")
        for providers in block.get("required_providers", []):
            for name, spec in one(providers).items():
                spec = one(spec)
                if not isinstance(spec, dict) or not spec.get("source") or not spec.get("version"):
                    problem(tf, f"provider {name} needs a source and a pinned version")

    def required(self):
        return {n for n, b in self.variables.items() if "default" not in b}


def check_calls(module, modules):
    for tf, name, body in module.calls:
        source = one(body.get("source"))
        target = (module.path / source).resolve()
        callee = modules.get(target)
        if callee is None:
            problem(tf, f"module {name}: no module at {source}")
            continue
        meta = {"source", "depends_on", "providers", "count", "for_each", "__start_line__", "__end_line__"}
        passed = set(body) - meta
        for arg in sorted(passed - set(callee.variables)):
            problem(tf, f"module {name} passes {arg}, which {source} does not declare")
        for arg in sorted(callee.required() - passed):
            problem(tf, f"module {name} does not pass {arg}, which {source} requires")
        for out in sorted(set(re.findall(rf"module\.{name}\.(\w+)", module.text))):
            if out not in callee.outputs:
                problem(tf, f"module.{name}.{out}: {source} has no output {out}")


def check_environments(modules):
    envs = ROOT / "environments"
    for env in ("dev", "staging", "prod"):
        for cloud in CLOUDS:
            d = envs / env / cloud
            if not d.is_dir():
                problem(d, "is missing")
                continue
            files = sorted(p.name for p in d.iterdir())
            if files != ["backend.hcl", "terraform.tfvars"]:
                problem(d, f"must hold only backend.hcl and terraform.tfvars, holds {files}")
                continue
            parse(d / "backend.hcl")
            stack = modules[(ROOT / "stacks" / cloud).resolve()]
            tfvars = parse(d / "terraform.tfvars")
            for key in sorted(set(tfvars) - set(stack.variables)):
                problem(d / "terraform.tfvars", f"sets {key}, which the {cloud} stack does not declare")
            for key in sorted(stack.required() - set(tfvars)):
                problem(d / "terraform.tfvars", f"does not set {key}, which the {cloud} stack requires")
            if one(tfvars.get("environment")) != env:
                problem(d / "terraform.tfvars", f"environment must be {env!r}")


def main():
    dirs = {p.parent for p in ROOT.glob("modules/**/*.tf")} | {p.parent for p in ROOT.glob("stacks/*/*.tf")}
    modules = {d.resolve(): Module(d) for d in sorted(dirs)}
    for concern in CONCERNS:
        for cloud in CLOUDS:
            m = modules.get((ROOT / "modules" / cloud / concern).resolve())
            if m is None:
                problem(ROOT / "modules" / cloud / concern, "is missing")
                continue
            for out in sorted(CONTRACT[concern] - m.outputs):
                problem(m.path, f"lacks the {concern} contract's output {out}")
    for m in modules.values():
        check_calls(m, modules)
    check_environments(modules)
    for p in sorted(ROOT.rglob("*.hcl")) + sorted(ROOT.rglob("*.tfvars")):
        parse(p)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"check-terraform: {len(modules)} modules, their calls and 9 environments are consistent")


main()
