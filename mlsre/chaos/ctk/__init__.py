"""mlsre as a Chaos Toolkit extension: ``mlsre.chaos.ctk.actions`` and ``mlsre.chaos.ctk.probes``.

Chaos Toolkit discovers activities through each module's ``__all__``. Every probe meant to
*notice* a fault returns a dict with ``noticed`` (bool), so a game day can say which probes
noticed the injected fault and which did not.
"""
