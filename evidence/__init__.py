"""The evidence a trail leaves behind, one floor below the use cases: C2SP signed notes and checkpoints
(``notes.py``), the deployment's signing key and the signing of a trail (``signing.py``), and the checks an
auditor runs offline with nothing but files (``proofs.py``). The Merkle tree itself is pure
(``domain/merkle.py``). Activities, settings, the application layer and the CLI build on these; nothing
here imports them."""
