"""Base templates, static files (htmx), security headers, the language switch."""
