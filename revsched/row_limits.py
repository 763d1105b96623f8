"""How many rows of each table the terminal shows unless --limit or --all says otherwise.

Apart from `revsched.summary`, which prints them with rich: the options' help texts quote
these numbers, and `revsched --help` loads no rich."""

# Rows of each table after the summary; fewer (down to MIN_ROWS) when the whole would not
# fit SCREEN_LINES, header and result line included.
DEFAULT_LIMIT = 5
MIN_ROWS = 2
SCREEN_LINES = 60
# Rows of each table `revsched show` prints of a run's audit.
SHOW_LIMIT = 50
