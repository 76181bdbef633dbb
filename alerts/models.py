"""Alert settings, notifications and webhook endpoints (filled in by the alerts issue)."""
