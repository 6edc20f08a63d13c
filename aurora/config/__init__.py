"""``aurora.toml``: the config model, its loader, the verify policy, and the starter file."""

from aurora.config.app import (
    CONFIG_NAME,
    LOCKFILES,
    Bases,
    Config,
    IstioTraffic,
    Kube,
    VerifyPolicy,
    json_schema,
    load,
    load_policy,
    locate,
    parse,
)

__all__ = ["CONFIG_NAME", "LOCKFILES", "Bases", "Config", "IstioTraffic", "Kube", "VerifyPolicy", "json_schema", "load",
           "load_policy", "locate", "parse"]
