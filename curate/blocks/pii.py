"""pii: redact personal data with markers (`<email-pii>`, `<ip-pii>`, `<iban-pii>` as Apertus, and the
documented ones for the other types); the manifest detail counts redactions by type. Like Apertus, code
is left alone by default."""
from __future__ import annotations

from curate.blocks.base import CurateBlock, record

# ccTLD -> phone region, for hosts whose TLD names a country
_TLD_REGION = {"uk": "GB"}


def region_of(host: str | None) -> str | None:
    """The phone region a host's country-code TLD names (uk -> GB), or None (.com, .eu, .io ...)."""
    import phonenumbers

    if not host or "." not in host:
        return None
    tld = host.rsplit(".", 1)[1].lower()
    region = _TLD_REGION.get(tld, tld.upper())
    return region if region in phonenumbers.SUPPORTED_REGIONS else None


class Pii(CurateBlock):
    name = "pii"
    stage = "pii"

    def __init__(self, types: list[str] | None = None, public_ip_only: bool = False, skip_code: bool = True):
        super().__init__()
        self.types = types
        self.public_ip_only = public_ip_only
        self.skip_code = skip_code

    def setup(self) -> None:
        from curate import pii

        self.pii = pii

    def process(self, doc) -> None:
        if self.skip_code and doc.metadata.get("source_type") == "code":
            record(doc, "pii", {"skipped": "code"})
            return
        text, counts = self.pii.redact(doc.text, doc.metadata.get("language") or "en", types=self.types,
                                       public_ip_only=self.public_ip_only, region=region_of(doc.metadata.get("host")))
        if counts:
            doc.text = text
        record(doc, "pii", {"counts": dict(sorted(counts.items())), "redacted": sum(counts.values())})
