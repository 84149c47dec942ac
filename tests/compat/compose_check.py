"""Checks docker-compose.yml without a Docker engine.

1. It is valid against the Compose Specification's JSON schema (vendored in compose-spec/).
2. Every file or folder it mounts from the repository, every build context and Dockerfile, and
   every file a Dockerfile copies from its context exists; every Dockerfile target it builds is a stage of that Dockerfile.
3. Every variable it interpolates (${NAME...}) is documented in .env.example, and every variable
   .env.example documents is used (so neither can drift).
4. deploy/generate-env.sh fills every secret the file requires (${NAME:?...}).

Usage: python compose_check.py <workspace root>. Prints one line per failure, exits 1 if any.
"""

import json
import os
import re
import subprocess
import sys

import jsonschema
import yaml

root = sys.argv[1]
failures = []


def fail(message):
    failures.append(message)
    print("FAIL:", message)


with open(os.path.join(root, "docker-compose.yml")) as handle:
    text = handle.read()
compose = yaml.safe_load(text)
with open(os.path.join(root, "tests/compat/compose-spec/compose-spec.json")) as handle:
    schema = json.load(handle)

# 1. The schema.
validator = jsonschema.Draft7Validator(schema)
for error in sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path)):
    fail("schema: %s at %s" % (error.message, "/".join(map(str, error.absolute_path))))

# 3. Variables: ${NAME}, ${NAME:-x}, ${NAME:?x}, ${NAME-x}; `$$` is a literal dollar.
unescaped = text.replace("$$", "")
used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", unescaped))
required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", unescaped))
with open(os.path.join(root, ".env.example")) as handle:
    documented = {}
    for line in handle:
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.strip())
        if match:
            documented[match.group(1)] = match.group(2)
for name in sorted(used - set(documented)):
    fail("variable %s is used by docker-compose.yml but not in .env.example" % name)
for name in sorted(set(documented) - used):
    fail("variable %s is in .env.example but docker-compose.yml does not use it" % name)


def expand_default(value):
    """The path a `${NAME:-default}` volume source has when .env leaves NAME empty."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", r"\1", value)


# 2. Files, folders, build contexts, Dockerfiles and their targets.
for name, service in (compose.get("services") or {}).items():
    build = service.get("build")
    if build:
        context = os.path.join(root, build.get("context", "."))
        if not os.path.isdir(context):
            fail("%s: build context %s does not exist" % (name, build.get("context")))
        dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
        if not os.path.isfile(dockerfile):
            fail("%s: Dockerfile %s does not exist" % (name, build.get("dockerfile")))
        else:
            with open(dockerfile) as handle:
                instructions = handle.read()
            stages = re.findall(r"(?im)^FROM\s+\S+\s+AS\s+(\S+)", instructions)
            # Every file a COPY takes from the build context exists.
            for line in re.findall(r"(?m)^COPY\s+(?!--from)(.+)$", instructions):
                for source in line.split()[:-1]:
                    if source != "." and not os.path.exists(os.path.join(context, source)):
                        fail("%s: %s copies %s, which does not exist" % (name, dockerfile, source))
            if build.get("target") and build["target"] not in stages:
                fail("%s: target %s is not a stage of %s (%s)" % (name, build["target"], dockerfile, stages))
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source = expand_default(volume).split(":")[0]
        else:
            source = expand_default(volume.get("source", ""))
        if source.startswith("./") or source.startswith("../"):
            if not os.path.exists(os.path.join(root, source)):
                fail("%s: mounted path %s does not exist" % (name, source))
        elif source and source not in (compose.get("volumes") or {}):
            fail("%s: volume %s is not declared under volumes:" % (name, source))
    for dependency in service.get("depends_on") or {}:
        if dependency not in compose["services"]:
            fail("%s depends on unknown service %s" % (name, dependency))

# 4. The generated .env sets every required variable.
generated = subprocess.run(
    ["sh", os.path.join(root, "deploy/generate-env.sh")], capture_output=True, text=True, check=True
).stdout
values = dict(re.findall(r"(?m)^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", generated))
for name in sorted(required):
    if not values.get(name):
        fail("deploy/generate-env.sh leaves the required %s empty" % name)

if failures:
    sys.exit(1)
print("docker-compose.yml: ok (%d services, %d variables)" % (len(compose["services"]), len(used)))
