"""Tests of the ratecards app."""
