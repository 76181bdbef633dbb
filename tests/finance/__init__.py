"""Tests of the finance pages, reports and exports."""
