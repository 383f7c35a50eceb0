from __future__ import annotations

import puremagic

from application.ports.files import ContentSniffer


class PuremagicSniffer(ContentSniffer):
    """Magic-byte signatures from ``puremagic`` (pure Python, maintained, no libmagic)."""

    def sniff(self, head: bytes) -> frozenset[str]:
        if not head:
            return frozenset()
        try:
            matches = puremagic.magic_string(head)
        except puremagic.PureError:
            return frozenset()
        return frozenset(m.extension.lstrip(".").lower() for m in matches if m.extension)
