"""The server-rendered web UI for front desk and clinicians (DESIGN.md §1).

Views only parse input, check the role, call the services and selectors of the
apps, and render; business-rule failures arrive as `DomainError` and become form
errors in one place (`clinic.web.forms.apply_domain_error`).
"""
