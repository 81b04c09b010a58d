"""`python -m linernotes`: the same as the `linernotes` command."""

import sys

from linernotes.main import linernotes_command

sys.exit(linernotes_command())
