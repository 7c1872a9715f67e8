"""PDF and label rendering shared by every module.

Renderer choice (measured on this machine, see docs/printing.md): Chromium,
driven by Playwright, both shapes Devanagari correctly (conjuncts, reph,
matras) and writes a text layer with the right characters, so a printed name
can be searched, copied and read aloud. WeasyPrint shapes correctly too but its
text layer garbles Hindi (शर्मा comes out as शमार्मा), so it is not used.
"""
