"""Browser tests of the staff console (Playwright driving Debian's Chromium)."""
