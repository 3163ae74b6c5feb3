"""The HTTP API: Cortex's ``/{org}/v2/...`` URL space over Starlette."""
