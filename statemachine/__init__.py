"""Lifecycles, the session state and apply(event), requirement analysis, validation, execution, coordination."""
