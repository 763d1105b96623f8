"""Reports people read outside the terminal: run reports, forecasts and the dashboard.

Each is built as plain data (tables of rows, charts as SVG) from a plan or the state
store, then written as CSV files and one HTML page from Jinja templates users can
override, like the alert templates.
"""
