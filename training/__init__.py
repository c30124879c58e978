"""Heed's fine-tuning: labelled exports in, a new immutable model version out.

``python -m training`` (or ``heed-train``) is the command line; the bundled sample export
lives in ``training/sample/`` so an installed wheel can train the default model too.
"""
