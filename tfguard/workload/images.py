"""Image references: the digest they pin, and the keys an ImageStack is found under."""

from __future__ import annotations

import re
from typing import Optional

from tfguard.compat.catalog import parse

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def image_keys(image: str) -> list[str]:
    """The lookup keys of an image reference: itself, with :latest when untagged, its digest, and its
    canonical form. The canonical form drops the default registry and `library/`: a Pod spec says
    `acme/server:1` where the kubelet reports (and the operator records) `docker.io/acme/server:1`."""
    image = (image or "").strip()
    if not image:
        return []
    keys = [image]
    name, at, digest = image.partition("@")
    if at:
        keys.append(digest)
    elif ":" not in name.rsplit("/", 1)[-1]:
        keys.append(name + ":latest")
    parsed = parse(image)
    if parsed is not None and not parsed.digest:
        canonical = f"{parsed.registry + '/' if parsed.registry else ''}{parsed.repository}:{parsed.tag or 'latest'}"
        if canonical not in keys:
            keys.append(canonical)
    return keys


def pinned_digest(reference: Optional[str]) -> Optional[str]:
    """`repo@sha256:...` -> `sha256:...`; None for a reference that pins no digest."""
    _, at, digest = (reference or "").partition("@")
    return digest if at and _DIGEST.fullmatch(digest) else None


def digest_of_image_id(image_id: Optional[str]) -> Optional[str]:
    """What a kubelet reports as `imageID` (`docker-pullable://repo@sha256:...`, `repo@sha256:...`,
    `sha256:...`) -> `sha256:...`."""
    match = _DIGEST.search(image_id or "")
    return match.group(0) if match else None
