"""Peer tools (Splink, recordlinkage) configured as in ../shared/PEERS.md, on shared preprocessing."""
