"""What the screens show, as plain dataclasses (no textual), one module per feature.

``jobs``: the jobs table and the status bar, read from the ledger; ``conversation``: one line of
a data file and where a finding points in it; ``charts``: binning for the histogram. A job in
detail is the core's (``tuner.jobs.detail``), shared with ``tuner jobs show``.
"""
