"""Web UI views by concern: parse input, check the role, call a service or selector, audit, render.

No view queries a model itself: reads are `clinic.web.selectors` or the apps' selectors.
"""
