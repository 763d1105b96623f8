"""`python -m revsched`: the same CLI as the `revsched` command."""

from revsched.cli import app

app(prog_name="revsched")
