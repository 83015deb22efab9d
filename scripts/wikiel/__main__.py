"""`python -m wikiel <command>`: the project's command line (see `wikiel.cli`)."""

from wikiel.cli import main

if __name__ == "__main__":
    main()
