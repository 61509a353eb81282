"""A local stand-in for DIAL Core, built on aidial-sdk (the optional ``emulator`` extra).

Nothing else in ``dialcli`` imports this package: ``dial`` itself never needs aidial-sdk.
Run it with ``dial-emulator`` or ``python -m dialcli.emulator``; see docs/emulator.md.
"""
