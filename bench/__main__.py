import sys

from .options import parse_args

# --help answers from the standard library alone, before the benchmark's imports need the venv.
parse_args(sys.argv[1:])

from .run import main  # noqa: E402

main()
