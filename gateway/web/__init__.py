"""The web front (issue 17): one Starlette app served by uvicorn in a web process of the daemon (or in the
accepting process, beside SMTP, with `web_processes = 0`; decision 0030).
One module per page family: `form` (the feedback form), `tracking` (a case by its code), `api` (the
signed webhook), `open311` (GeoReport v2); `app` puts them together. Every submission is handed to intake's
receipt port and answered only after it is committed; pages read through `gateway.store`'s read side."""
