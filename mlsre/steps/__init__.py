"""Step kinds: the contract (:mod:`.base`), the catalog of kinds (:mod:`.catalog`), and one
subpackage per kind family: ``<family>/kinds.py`` declares its kinds, the rest of the folder does
the work (``run.py``, imported only when such a step runs)."""
