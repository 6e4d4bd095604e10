"""``python -m tinyquant``: the ``tinyquant`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
