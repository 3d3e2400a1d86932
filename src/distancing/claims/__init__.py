"""The paper's claims, declared in the config before the run and decided on our runs (CSV files
only, no torch), in four modules read in this order:

- ``catalogue.py``: the statistics a claim may name (what is compared, paired how) and the
  evidence they read;
- ``inference.py``: the statistics maths (t-intervals, power, replication, Holm);
- ``verdicts.py``: each claim decided, gated by its controls, graded, with its family-wise view;
- ``checks.py``: the declared claims checked before any job (the plan calls it).
"""
