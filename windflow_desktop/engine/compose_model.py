"""The Compose model as ``compose config`` prints it: parsed, and read for the images,
services and published ports a deployment needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from ..domain.errors import DeploymentError

# compose's own output (never user input): libyaml's C loader where it is built in.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_model(config_text: str) -> dict[str, Any]:
    """The model ``compose config`` printed."""
    model = yaml.load(config_text, Loader=_YAML_LOADER) or {}
    if not isinstance(model, dict):
        raise DeploymentError("compose config printed something that is not a model")
    return model


def normalize_image(image: str) -> str:
    """``busybox`` → ``busybox:latest`` (how ``docker images`` lists it)."""
    if "@" in image:
        return image
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last else f"{image}:latest"


def model_images(model: Mapping[str, Any]) -> list[str]:
    images = []
    for service in (model.get("services") or {}).values():
        if isinstance(service, dict) and service.get("image") and not service.get("build"):
            images.append(str(service["image"]))
    return list(dict.fromkeys(images))


def model_services(model: Mapping[str, Any]) -> list[str]:
    out = []
    for name, service in (model.get("services") or {}).items():
        replicas = ((service or {}).get("deploy") or {}).get("replicas")
        if replicas is None or int(replicas) > 0:
            out.append(str(name))
    return out


def model_ports(model: Mapping[str, Any]) -> set[tuple[str, int]]:
    """Published host ports of the interpolated model (v2 long form and v1 short form)."""
    ports: set[tuple[str, int]] = set()
    for service in (model.get("services") or {}).values():
        for entry in (service or {}).get("ports") or ():
            if isinstance(entry, dict):
                published = str(entry.get("published") or "")
                proto = str(entry.get("protocol") or "tcp")
                if published.isdigit():
                    ports.add((proto, int(published)))
            else:
                text = str(entry)
                proto = text.rsplit("/", 1)[1] if "/" in text else "tcp"
                parts = text.split("/")[0].split(":")
                if len(parts) >= 2 and parts[-2].isdigit():
                    ports.add((proto, int(parts[-2])))
    return ports
