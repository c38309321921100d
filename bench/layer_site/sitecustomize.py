"""Loaded at interpreter start by processes ``bench.layer.layer_env`` prepares: the modules named in
``BENCH_NOT_IN_LAYER`` cannot be imported, as in Lambda, where the layer does not have them."""

import os
import sys

_HIDDEN = frozenset(filter(None, os.environ.get("BENCH_NOT_IN_LAYER", "").split(",")))


class _NotInLayer:
    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in _HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the Lambda layer)", name=name)
        return None


if _HIDDEN:
    sys.meta_path.insert(0, _NotInLayer())
