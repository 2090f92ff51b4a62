"""Staff pages' plumbing below every domain: accounts and sessions, CSRF, who sees what, audit, translations and
rendering. It imports no domain: pages hand it what their templates need."""
