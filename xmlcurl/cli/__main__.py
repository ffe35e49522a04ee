"""`python -m xmlcurl.cli`: the `xmlcurl` command."""
from . import main

main()
