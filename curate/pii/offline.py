"""Offline public-suffix lookups for e-mail validation.

tldextract fetches the Public Suffix List over HTTP on first use unless told otherwise. Presidio's
EmailRecognizer calls the module-level ``tldextract.extract``, which goes through the module global
``tldextract.tldextract.TLD_EXTRACTOR``; we replace that global with an extractor that has no URLs to
fetch and no disk cache, so it always reads the snapshot bundled in the tldextract wheel.
"""
from __future__ import annotations

import tldextract
import tldextract.tldextract as _tld_module


def new_offline_extractor() -> tldextract.TLDExtract:
    """A TLDExtract that reads only the suffix list bundled with tldextract (no URLs, no disk cache)."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


#: The extractor our e-mail validation uses (the snapshot is parsed lazily, on first use).
OFFLINE_EXTRACTOR = new_offline_extractor()


def make_tldextract_offline() -> None:
    """Route ``tldextract.extract`` (used by Presidio's recognizers) through the offline extractor.

    Idempotent. Needed because the project rule is that nothing downloads at run time.
    """
    _tld_module.TLD_EXTRACTOR = OFFLINE_EXTRACTOR


def has_public_suffix(domain: str) -> bool:
    """True when ``domain`` ends in a known public suffix and has a registrable name before it."""
    return OFFLINE_EXTRACTOR(domain).fqdn != ""  # module global, looked up per call
