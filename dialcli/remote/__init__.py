"""DIAL storage as a client sees it, and DIAL Chat's formats.

``names`` (DIAL Chat's naming rules), ``dialchat`` (its conversation document and
export file, mapped to and from our ``Conversation``), ``markdown`` (a readable
transcript), ``storage`` (buckets, resources with ETags, metadata listings),
``transports`` (the wire, per backend), ``links`` (the local id <-> remote url map)
and ``sync`` (push and pull).
"""
