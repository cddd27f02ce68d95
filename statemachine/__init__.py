"""The lifecycles, the session state and its apply(event), requirement analysis, validation, the provisioning executor and the session coordinator."""
