"""Alerts: alert settings, notifications, emails, webhooks and the scheduled jobs."""
