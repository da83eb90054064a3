"""The HTTP surface of the embedded cluster: what kubectl and the Python client talk to.

Routes with the Kubernetes API's URL layout, thin handlers per resource (list, get, create, update,
patch, delete, watch, server-side Tables), discovery and a minimal OpenAPI index, the authorization
reviews (JSON or protobuf bodies), authentication and API faults, the exec/log websocket, and the
throw-away TLS certificate. Handlers hold no rules of their own: validation, patching, selectors and
RBAC live in `state`, behaviour in `control`. Simplifications: legacy (unaggregated) discovery only,
no schemas in OpenAPI, no server-side apply, no SPDY exec.
"""
