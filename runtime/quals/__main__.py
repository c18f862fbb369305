"""`python -m quals ...`: the `quals` command, for an environment whose scripts are not on PATH."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="quals")
