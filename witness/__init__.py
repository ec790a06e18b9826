"""A witness (c2sp.org/tlog-witness) that a partner organisation runs itself: it cosigns a coopflow
deployment's checkpoints only when each is consistent with the last one it cosigned for that project, and
so holds evidence the deployment cannot rewrite. It needs this package, SQLite and nothing else of coopflow:
no Temporal, no store (it imports ``domain`` and ``evidence`` only).

``request`` reads and writes request bodies, ``state`` keeps the latest tree per log, ``core`` gives the
answers, ``server`` serves them over HTTP, and ``client`` is how coopflow asks.
"""
