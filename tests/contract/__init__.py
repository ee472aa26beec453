"""API.md held word for word from the outside, a module per section of API.md.

API.md, held word for word from the outside: paths, fields, formats, statuses and error codes.

Black-box: every call goes through DRF's APIClient with a token, as an integrator's
client would. The other API tests pin each feature in depth; this module pins the
contract details they leave implicit (exact field sets, formats, every error shape,
every list's pagination, the OpenAPI schema naming it all).

Where API.md is silent, the choice made is written next to the test that pins it:
- a malformed body (bad JSON) is a `validation_error` and, like every one, names
  `fields` (`non_field_errors`);
- an untreated patient's `baseline` is still the object API.md shows: the diary
  of the 90 days up to today, as eligibility counts it;
- reschedule takes `override_reason` exactly as booking does ("same checks");
- a page past the end is 404 `not_found`; `page_size` above 200 is cut to 200;
- a malformed id in a path is 404 `not_found`, like an unknown one.

Time is pinned to Monday 2027-01-04 12:00 UTC (07:00 in New York).
"""
