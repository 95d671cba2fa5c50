"""Renderers: one function per format, each taking a plan (or results) and returning text."""
