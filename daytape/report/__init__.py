"""`daytape report`: one self-contained HTML page of a run, read through the Python API (daytape.api).

`model` gathers what the page shows into a JSON document; `html` inlines it with plotly.js and the page's
script; `command` is the CLI command.
"""
