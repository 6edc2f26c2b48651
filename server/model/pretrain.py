"""`python -m copilot_index.server.model.pretrain`: pre-train the default model (`conventions.pretrain.pretrain`).

The training itself lives in `conventions`; this entry point hands it the server's model runtime, with which the
run's final evaluation and model card load and complete with the exported model.
"""

from __future__ import annotations

import sys

from copilot_index.conventions.pretrain import pretrain

from .runtime import TransformersRuntime


def main(argv: list[str] | None = None) -> int:
    return pretrain.main(argv, TransformersRuntime())


if __name__ == "__main__":
    sys.exit(main())
