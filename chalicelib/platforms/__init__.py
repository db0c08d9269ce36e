"""Platform adapters: one module per platform, loaded only when a target on it is published.

``adapter_for(integration, ...)`` is the only way in; see base.py for the contract every adapter
keeps, and registry.py for which module serves which platform.
"""

from chalicelib.platforms.registry import adapter_for

__all__ = ["adapter_for"]
