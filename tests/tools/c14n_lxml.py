#!/usr/bin/env python3
"""Exclusive XML c14n (without comments) of elements of a document, by libxml2 through lxml: an
implementation independent of spconnect's, used by tests/it/verifier_differential.rs.

usage: c14n_lxml.py FILE LOCAL-NAME INDEX [PREFIX ...]
Prints the canonical form of the INDEX-th element (document order) whose local name is
LOCAL-NAME, with the PREFIXes as the InclusiveNamespaces PrefixList (#default allowed).
"""
import sys

from lxml import etree


def main() -> None:
    path, local, index = sys.argv[1], sys.argv[2], int(sys.argv[3])
    prefixes = sys.argv[4:] or None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=False)
    doc = etree.parse(path, parser)
    matches = [e for e in doc.iter() if isinstance(e.tag, str) and etree.QName(e).localname == local]
    el = matches[index]
    out = etree.tostring(el, method="c14n", exclusive=True, with_comments=False, inclusive_ns_prefixes=prefixes)
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main()
