"""Right to erasure: remove a person from every file, table version and artifact the pipeline
holds, prove it, and record what that did to each model's reproducibility.

Plain domain logic over storage, declarations, privacy and the MLflow registry; the ``govern
erase`` command (``pipeline.cli.erasure``) wires it.
"""
